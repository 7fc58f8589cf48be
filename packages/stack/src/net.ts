import { connect } from 'node:net';

/** True when something accepts TCP connections on host:port. */
export function isListening(port: number, host = '127.0.0.1', timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (result: boolean) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Fails with a message that says what to do when a port the stack needs is taken by someone else. */
export async function assertPortFree(port: number, what: string, variable: string): Promise<void> {
  if (await isListening(port)) {
    throw new Error(
      `port ${port} (${what}) is already in use by a process this stack did not start: ` +
        `stop that process (\`ss -ltnp 'sport = :${port}'\` shows it), or set ${variable} to a free port`,
    );
  }
}

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

/**
 * A service whose supervisor dies (SIGKILL) stops by itself. Its stdout and stderr went with the
 * supervisor: pino's flush at exit retried the failed writes forever, so a service with log lines
 * still buffered hung in process.exit (a cdc-reader in CI). Here the "supervisor" is a small
 * process between the test and the service.
 */
describe('a service whose supervisor is gone', () => {
  it('stops and exits even with log lines still to write', async () => {
    const child = resolve(__dirname, '__tests__', 'supervised-child.ts');
    // The supervisor: starts the service with an IPC channel and piped output, prints its pid once it is ready, then is killed.
    const supervisorScript = `
      const { spawn } = require('node:child_process');
      const service = spawn(process.execPath, ['--require', 'tsx/cjs', ${JSON.stringify(child)}], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true, env: process.env,
      });
      service.on('message', () => process.stdout.write(service.pid + '\\n'));
    `;
    const supervisor = spawn(process.execPath, ['-e', supervisorScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [line] = (await once(supervisor.stdout as NodeJS.ReadableStream, 'data')) as [Buffer];
    const pid = Number(line.toString().trim());
    expect(pid).toBeGreaterThan(0);
    supervisor.kill('SIGKILL');
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 15_000;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const stillAlive = alive();
    if (stillAlive) process.kill(pid, 'SIGKILL');
    expect(stillAlive).toBe(false);
  }, 30_000);
});

import { chmodSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ComponentName, findRepoRoot, makeStack, privateStackConfig, type Stack } from '@pipeline/stack';

/** A TCP port nobody listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A stack of its own, on free ports in a fresh folder, for a test that stops or restarts a server
 * without disturbing the shared one. The caller brings it up and must bring it down.
 */
export async function privateStack(only?: readonly ComponentName[], postgresSettings?: Record<string, string>): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-private-'));
  // mkdtemp makes the folder 0700; PostgreSQL runs as another user when we are root.
  chmodSync(dir, 0o755);
  const ports = {
    postgres: await freePort(),
    kafka: await freePort(),
    kafkaController: await freePort(),
    ses: await freePort(),
    prometheus: await freePort(),
  };
  const config = privateStackConfig(dir, ports, findRepoRoot(__dirname));
  if (postgresSettings) config.postgres.settings = postgresSettings;
  return makeStack(config, only);
}

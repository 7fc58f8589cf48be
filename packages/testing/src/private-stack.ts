import { chmodSync, mkdtempSync, readFileSync } from 'node:fs';
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

/** Whether nothing listens on `port` of 127.0.0.1 right now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The OS's range of ephemeral ports (client connections take their local port from it). */
function ephemeralRange(): [number, number] {
  try {
    const [low = 32_768, high = 60_999] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return [low, high];
  } catch {
    return [32_768, 60_999];
  }
}

/**
 * The first of `count` consecutive ports free now, below the OS's ephemeral range: a port picked
 * next to a free one could be taken meanwhile by any client connection's local port (seen:
 * `pipeline start`'s fourth service could not bind its port, and crashed until given up).
 */
export async function freePortRange(count: number): Promise<number> {
  const [ephemeralLow] = ephemeralRange();
  const low = 20_000;
  const high = Math.max(low + count + 1, ephemeralLow - count);
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = low + Math.floor(Math.random() * (high - low));
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if ((await Promise.all(ports.map(isFree))).every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports between ${low} and ${high}`);
}

/**
 * A stack of its own, on free ports in a fresh folder, for a test that stops or restarts a server
 * without disturbing the shared one. The caller brings it up and must bring it down.
 */
export async function privateStack(only?: readonly ComponentName[], postgresSettings?: Record<string, string>): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-private-'));
  // mkdtemp makes the folder 0700; PostgreSQL runs as another user when we are root.
  chmodSync(dir, 0o755);
  const base = await freePortRange(5);
  const ports = { postgres: base, kafka: base + 1, kafkaController: base + 2, ses: base + 3, prometheus: base + 4 };
  const config = privateStackConfig(dir, ports, findRepoRoot(__dirname));
  if (postgresSettings) config.postgres.settings = postgresSettings;
  return makeStack(config, only);
}

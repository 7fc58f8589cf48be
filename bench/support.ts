import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMigrations, migrate, READER_ROLE, setReaderPassword } from '@pipeline/db';
import { freePort, sharedStack, uniqueName } from '@pipeline/testing';
import pg from 'pg';

/** What the benchmarks share: a migrated database of their own, the compiled cdc-reader as a process, RSS sampling. */

export const READER = join(__dirname, '..', 'services', 'cdc-reader', 'dist', 'main.js');

export const log = (line: string) => process.stdout.write(`  ${line}\n`);
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

export function rss(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export interface Database {
  url: string;
  readerUrl: string;
  pool: pg.Pool;
  drop(): Promise<void>;
}

export async function benchDatabase(): Promise<Database> {
  const adminUrl = sharedStack().endpoints.databaseUrl;
  const name = uniqueName('bench');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  await migrate(client, loadMigrations());
  await setReaderPassword(client, 'pipeline_reader');
  await client.end();
  const readerUrl = new URL(url);
  readerUrl.username = READER_ROLE;
  readerUrl.password = 'pipeline_reader';
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  return {
    url: url.toString(),
    readerUrl: readerUrl.toString(),
    pool,
    drop: async () => {
      await pool.end();
      await admin.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active', [name]);
      await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}

export async function currentLsn(db: Database): Promise<string> {
  const { rows } = await db.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return rows[0]?.lsn ?? '0/0';
}

export async function confirmedReached(db: Database, slot: string, lsn: string): Promise<boolean> {
  const { rows } = await db.pool.query<{ done: boolean }>(
    'SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1',
    [slot, lsn],
  );
  return rows[0]?.done === true;
}

export async function startReader(
  db: Database,
  slot: string,
  id: string,
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, [READER], {
    env: {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: db.readerUrl,
      KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
      HTTP_PORT: String(port),
      CDC_SLOT_NAME: slot,
      CDC_TOPIC_PREFIX: `bench_${id}`,
      CDC_SCHEMA_TOPIC: `_pipeline.schemas.bench_${id}`,
      CDC_DLQ_TOPIC: `_pipeline.cdc.dlq.bench_${id}`,
      LOG_LEVEL: 'warn',
      ...extraEnv,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return { child, port };
    } catch {
      // not yet
    }
    if (child.exitCode !== null) throw new Error(`the reader exited with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function stopChild(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await once(child, 'exit');
}

/** Starts a compiled service (`services/<name>/dist/main.js`) on a free port and waits until /readyz answers 200. */
export async function startService(entry: string, env: Record<string, string>, args: string[] = []): Promise<ChildProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...args, entry], {
    env: {
      PATH: process.env.PATH ?? '',
      KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
      LOG_LEVEL: 'warn',
      ...env,
      HTTP_PORT: String(port),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return child;
    } catch {
      // not yet
    }
    if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A Prometheus histogram's cumulative buckets, as scraped from /metrics. */
export function histogramBuckets(metrics: string, name: string): { le: number; count: number }[] {
  return [...metrics.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm'))].map((m) => ({
    le: m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]),
    count: Number(m[2]),
  }));
}

/**
 * Quantile from a Prometheus histogram's cumulative buckets, interpolated as histogram_quantile
 * does; with `before`, of what was observed since that scrape.
 */
export function quantile(metrics: string, name: string, q: number, before?: string): number {
  const earlier = before === undefined ? [] : histogramBuckets(before, name);
  const buckets = histogramBuckets(metrics, name).map((b, i) => ({ le: b.le, count: b.count - (earlier[i]?.count ?? 0) }));
  const total = buckets.at(-1)?.count ?? 0;
  const rank = q * total;
  let previous = { le: 0, count: 0 };
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (!Number.isFinite(bucket.le)) return previous.le;
      const span = bucket.count - previous.count;
      return previous.le + (bucket.le - previous.le) * (span === 0 ? 0 : (rank - previous.count) / span);
    }
    previous = bucket;
  }
  return Number.NaN;
}

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/** Where each part of the local stack listens and keeps its data. */
export interface StackConfig {
  /** Data, logs and process records of this stack (git-ignored). */
  dir: string;
  /** The checkout the stack belongs to (for infra/local/pom.xml). */
  repoRoot: string;
  postgres: {
    port: number;
    user: string;
    password: string;
    database: string;
    /** A server named by DATABASE_URL: used as it is, never started or stopped. */
    externalUrl?: string;
    /** Server settings over POSTGRES_SETTINGS (a test's private instance, say a tiny max_slot_wal_keep_size). */
    settings?: Record<string, string>;
  };
  kafka: {
    port: number;
    controllerPort: number;
    /** Brokers named by KAFKA_BROKERS: used as they are, never started or stopped. */
    externalBrokers?: string[];
  };
  ses: {
    port: number;
    /** An endpoint named by SES_ENDPOINT: used as it is. */
    externalUrl?: string;
  };
  prometheus: {
    port: number;
  };
}

/** Default loopback ports of the shared local stack: none is a server's usual port. */
export const DEFAULT_PORTS = { postgres: 54329, kafka: 19092, kafkaController: 19093, ses: 18005, prometheus: 19090 } as const;

type Env = Readonly<Record<string, string | undefined>>;

/** The checkout's root: the nearest folder up from `start` whose package.json declares workspaces. */
export function findRepoRoot(start: string = __dirname): string {
  let dir = resolve(start);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown };
      if (parsed.workspaces) return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no workspace root above ${start}: run pipeline from inside the checkout`);
    dir = parent;
  }
}

/**
 * `<checkout>/.stack`, except as root: PostgreSQL refuses to run as root, and the user it runs as
 * cannot reach a checkout inside root's home (mode 0700), so the data goes to the system's temporary
 * directory, in a folder named after the checkout so two clones never share one.
 */
export function defaultStackDir(repoRoot: string, uid: number = userInfo().uid): string {
  if (uid !== 0) return join(repoRoot, '.stack');
  const id = createHash('sha256').update(repoRoot).digest('hex').slice(0, 10);
  return join(tmpdir(), `pipeline-stack-${id}`);
}

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`${name}: expected a TCP port between 1 and 65535, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** The shared stack's configuration, overridable by environment variables (README, "Configuration"). */
/** The environment of this process, which the servers the stack starts inherit. */
export function inheritedEnv(): NodeJS.ProcessEnv {
  return process.env;
}

export function stackConfigFromEnv(env: Env = inheritedEnv(), repoRoot: string = findRepoRoot()): StackConfig {
  const config: StackConfig = {
    dir: env.PIPELINE_STACK_DIR ? resolve(env.PIPELINE_STACK_DIR) : defaultStackDir(repoRoot),
    repoRoot,
    postgres: {
      port: port(env, 'PIPELINE_PG_PORT', DEFAULT_PORTS.postgres),
      user: 'pipeline',
      // Set when the data folder is first created (initdb); the default is public, like the user's name.
      password: env.PIPELINE_PG_PASSWORD || 'pipeline',
      database: 'pipeline',
    },
    kafka: {
      port: port(env, 'PIPELINE_KAFKA_PORT', DEFAULT_PORTS.kafka),
      controllerPort: port(env, 'PIPELINE_KAFKA_CONTROLLER_PORT', DEFAULT_PORTS.kafkaController),
    },
    ses: { port: port(env, 'PIPELINE_SES_PORT', DEFAULT_PORTS.ses) },
    prometheus: { port: port(env, 'PIPELINE_PROMETHEUS_PORT', DEFAULT_PORTS.prometheus) },
  };
  if (env.DATABASE_URL) config.postgres.externalUrl = env.DATABASE_URL;
  if (env.KAFKA_BROKERS) config.kafka.externalBrokers = env.KAFKA_BROKERS.split(',').map((b) => b.trim());
  if (env.SES_ENDPOINT) config.ses.externalUrl = env.SES_ENDPOINT;
  return config;
}

/** A stack of its own on other ports and in another folder, for a test that stops or restarts a server. */
export function privateStackConfig(
  dir: string,
  ports: { postgres: number; kafka: number; kafkaController: number; ses: number; prometheus: number },
  repoRoot: string = findRepoRoot(),
): StackConfig {
  return {
    dir,
    repoRoot,
    postgres: { port: ports.postgres, user: 'pipeline', password: 'pipeline', database: 'pipeline' },
    kafka: { port: ports.kafka, controllerPort: ports.kafkaController },
    ses: { port: ports.ses },
    prometheus: { port: ports.prometheus },
  };
}

/** How clients reach each part of a stack. */
export interface StackEndpoints {
  databaseUrl: string;
  kafkaBrokers: string[];
  sesEndpoint: string;
  /** The stack's Prometheus (its UI, and the HTTP API under /api/v1). */
  prometheusUrl: string;
}

export function stackEndpoints(config: StackConfig): StackEndpoints {
  const pg = config.postgres;
  return {
    databaseUrl: pg.externalUrl ?? `postgres://${pg.user}:${encodeURIComponent(pg.password)}@127.0.0.1:${pg.port}/${pg.database}`,
    kafkaBrokers: config.kafka.externalBrokers ?? [`127.0.0.1:${config.kafka.port}`],
    sesEndpoint: config.ses.externalUrl ?? `http://127.0.0.1:${config.ses.port}`,
    prometheusUrl: `http://127.0.0.1:${config.prometheus.port}`,
  };
}

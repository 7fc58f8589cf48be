import { leaderLockHolder, leaderLockKey } from '@pipeline/db';
import { type Logger, sleep } from '@pipeline/runtime';
import pg from 'pg';

export interface LeaderLockOptions {
  /** A normal (not replication) connection as the reader role. */
  connection: pg.ClientConfig;
  slot: string;
  logger: Logger;
  /** How often a standby tries for the lock, and the leader checks its lock session, ms. */
  pollMs: number;
  /** The lock's session ended while held: stop producing now, a standby may take over. */
  onLost: (reason: string) => void;
}

/**
 * One active reader per slot: a session-level advisory lock, held on a connection of its own for
 * as long as the reader leads. PostgreSQL releases it when that session ends (process death,
 * `pg_terminate_backend`, or after a host or network loss once TCP keepalives give up), and the
 * leader hears of its loss through the same connection.
 */
export class LeaderLock {
  private client: pg.Client | undefined;
  private check: NodeJS.Timeout | undefined;
  private lost = false;
  /** Aborted by release(): a standby's wait ends at once. */
  private released = new AbortController();

  constructor(private readonly options: LeaderLockOptions) {}

  get held(): boolean {
    return this.client !== undefined && !this.lost;
  }

  /** Waits as a standby until the lock is this reader's; false when `stopped()` says to give up. */
  async acquire(stopped: () => boolean): Promise<boolean> {
    const { options } = this;
    let announced = false;
    while (!stopped()) {
      const client = new pg.Client({
        ...options.connection,
        application_name: `cdc-reader:${options.slot}:leader-lock`,
        keepAlive: true,
        keepAliveInitialDelayMillis: 5_000,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        for (;;) {
          const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [this.key]);
          if (rows[0]?.ok) {
            this.hold(client);
            return true;
          }
          if (!announced) {
            announced = true;
            const holder = await leaderLockHolder(client, options.slot);
            options.logger.info(
              { slot: options.slot, holder },
              `standby: slot ${options.slot} has a leader${holder ? ` (pid ${holder.pid}, ${holder.application})` : ''}; waiting to take over`,
            );
          }
          if (stopped()) break;
          await sleep(options.pollMs, this.released.signal);
          if (stopped()) break;
        }
      } catch (error) {
        options.logger.warn({ err: error }, `standby: could not ask for the leader lock: ${(error as Error).message}; trying again`);
        await sleep(options.pollMs, this.released.signal);
      }
      await client.end().catch(() => undefined);
    }
    return false;
  }

  /** Gives the lock up (clean stop): a standby takes over at its next try. */
  async release(): Promise<void> {
    clearInterval(this.check);
    this.released.abort();
    this.released = new AbortController();
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private get key(): string {
    return leaderLockKey(this.options.slot);
  }

  private hold(client: pg.Client): void {
    this.client = client;
    this.lost = false;
    const lose = (reason: string): void => {
      if (this.lost || this.client !== client) return;
      this.lost = true;
      clearInterval(this.check);
      this.client = undefined;
      void client.end().catch(() => undefined);
      this.options.onLost(reason);
    };
    client.removeAllListeners('error');
    client.on('error', (error) => lose(error.message));
    client.on('end', () => lose('its connection closed'));
    // A silently dead connection shows when a query on it fails.
    this.check = setInterval(() => {
      client.query('SELECT 1').catch((error: unknown) => lose((error as Error).message));
    }, this.options.pollMs);
  }
}

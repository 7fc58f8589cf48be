import { sleep } from '@pipeline/runtime';

/**
 * PostgreSQL's SQLSTATEs for a server that is going away or not there yet: class 08 (connection
 * exception), 57P01–57P03 (shutting down, crash shutdown, "cannot connect now": starting up or
 * shutting down), 53300 (too many connections, while a restart's clients reconnect).
 */
const AWAY_SQLSTATE = /^(08...|57P0[1-3]|53300)$/;
/** Node's socket errors for a server that is not there. */
const AWAY_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
/** node-postgres's own words for a connection that ended or never came. */
const AWAY_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i;

/** Whether an error says the database cannot be reached now (restarting, shutting down, not up yet): worth waiting out. */
export function isDatabaseAway(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (AWAY_SQLSTATE.test(code) || AWAY_ERRNO.has(code))) return true;
  return typeof message === 'string' && AWAY_MESSAGE.test(message);
}

/**
 * Runs `step` again and again while the database is away (a service started during a PostgreSQL
 * restart waits for it, instead of failing its start into a crash loop); `onWait` is told each
 * time with the pause before the next try. Any other error is thrown. Ends early (with what the
 * last try threw) once `signal` aborts.
 */
export async function whileDatabaseAway<T>(
  step: () => Promise<T>,
  options: { signal?: AbortSignal; onWait?: (error: unknown, attempt: number, delayMs: number) => void; maxDelayMs?: number } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (!isDatabaseAway(error) || options.signal?.aborted) throw error;
      const delayMs = Math.min(options.maxDelayMs ?? 5_000, 250 * 2 ** (attempt - 1));
      options.onWait?.(error, attempt, delayMs);
      await sleep(delayMs, options.signal);
    }
  }
}

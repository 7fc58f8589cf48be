import { PipelineError } from '@pipeline/runtime';
import { effectLockKey } from './effects';
import { type Pool, type PoolClient, withClient } from './pool';

/**
 * What operators read and decide about entries of the effects ledger (`pipeline effects`). An
 * entry left `claimed` after a crash may or may not have happened; a person checks the provider
 * and says which, and the next redrive of the event follows that.
 */

export type LedgerStatus = 'claimed' | 'recorded' | 'abandoned';

export interface LedgerEntry {
  key: string;
  effect: string;
  status: LedgerStatus;
  attempts: number;
  claimedAt: Date;
  recordedAt: Date | null;
  providerRef: string | null;
  lastError: string | null;
}

export type EffectAction = 'released' | 'marked_recorded' | 'abandoned';

export interface EffectActionRecord {
  action: EffectAction;
  actor: string;
  note: string | null;
  providerRef: string | null;
  at: Date;
}

interface LedgerRow {
  effect_key: string;
  effect: string;
  status: LedgerStatus;
  attempts: number;
  claimed_at: Date;
  recorded_at: Date | null;
  provider_ref: string | null;
  last_error: string | null;
}

const toEntry = (row: LedgerRow): LedgerEntry => ({
  key: row.effect_key,
  effect: row.effect,
  status: row.status,
  attempts: row.attempts,
  claimedAt: row.claimed_at,
  recordedAt: row.recorded_at,
  providerRef: row.provider_ref,
  lastError: row.last_error,
});

const COLUMNS = 'effect_key, effect, status, attempts, claimed_at, recorded_at, provider_ref, last_error';

export interface LedgerFilter {
  /** Default: only `claimed` (the entries that need a person). */
  status?: LedgerStatus | 'all';
  effect?: string;
  /** Entries whose key contains this text. */
  keyContains?: string;
  limit?: number;
}

/** Ledger entries, oldest claim first. */
export async function listLedger(db: Pool, filter: LedgerFilter = {}): Promise<LedgerEntry[]> {
  const status = filter.status ?? 'claimed';
  const { rows } = await db.query<LedgerRow>(
    `SELECT ${COLUMNS} FROM effects_ledger
      WHERE ($1::text = 'all' OR status = $1) AND ($2::text IS NULL OR effect = $2) AND ($3::text IS NULL OR strpos(effect_key, $3) > 0)
      ORDER BY claimed_at, effect_key, effect LIMIT $4`,
    [status, filter.effect ?? null, filter.keyContains ?? null, filter.limit ?? 1_000],
  );
  return rows.map(toEntry);
}

export async function ledgerEntry(db: Pool | PoolClient, key: string, effect: string): Promise<LedgerEntry | undefined> {
  const { rows } = await db.query<LedgerRow>(`SELECT ${COLUMNS} FROM effects_ledger WHERE effect_key = $1 AND effect = $2`, [key, effect]);
  return rows[0] ? toEntry(rows[0]) : undefined;
}

/** What operators did with an entry, oldest first. */
export async function effectActions(db: Pool, key: string, effect: string): Promise<EffectActionRecord[]> {
  const { rows } = await db.query<{
    action: EffectAction;
    actor: string;
    note: string | null;
    provider_ref: string | null;
    created_at: Date;
  }>(
    'SELECT action, actor, note, provider_ref, created_at FROM effect_actions WHERE effect_key = $1 AND effect = $2 ORDER BY created_at, id',
    [key, effect],
  );
  return rows.map((r) => ({ action: r.action, actor: r.actor, note: r.note, providerRef: r.provider_ref, at: r.created_at }));
}

export interface OperatorDecision {
  key: string;
  effect: string;
  actor: string;
  note?: string;
}

/** An entry is not in a state the action applies to, or does not exist: not retriable, the message says why. */
export class LedgerActionError extends PipelineError {
  constructor(message: string) {
    super(message, { code: 'LEDGER_ACTION_REFUSED', retriable: false });
    this.name = 'LedgerActionError';
  }
}

/**
 * Applies `change` to a `claimed` entry, records the action, all in one transaction, while
 * holding the entry's advisory lock: a service performing the effect right now holds it too, so
 * an operator never changes an entry under an attempt in flight.
 */
async function decide(
  db: Pool,
  decision: OperatorDecision,
  action: EffectAction,
  change: (client: PoolClient) => Promise<void>,
  providerRef?: string,
): Promise<LedgerEntry | undefined> {
  return withClient(db, async (client) => {
    const lockKey = effectLockKey(decision.key, decision.effect);
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 7)) AS ok', [lockKey]);
    if (!rows[0]?.ok) {
      throw new LedgerActionError(
        `effect ${decision.effect} for ${decision.key} is being performed by a service right now: look again in a moment`,
      );
    }
    try {
      await client.query('BEGIN');
      try {
        const entry = await ledgerEntry(client, decision.key, decision.effect);
        if (!entry) {
          throw new LedgerActionError(
            `no ledger entry ${decision.key} --effect ${decision.effect}: \`pipeline effects list --all\` lists them`,
          );
        }
        if (entry.status !== 'claimed') {
          throw new LedgerActionError(
            `effect ${decision.effect} for ${decision.key} is ${entry.status}, not an open claim: ` +
              (entry.status === 'recorded'
                ? `it happened (provider reference ${entry.providerRef ?? '-'}), and a redrive skips it`
                : 'it will never be performed; a redrive completes its event without it'),
          );
        }
        await change(client);
        await client.query(
          'INSERT INTO effect_actions (effect_key, effect, action, actor, note, provider_ref) VALUES ($1, $2, $3, $4, $5, $6)',
          [decision.key, decision.effect, action, decision.actor, decision.note ?? null, providerRef ?? null],
        );
        const after = await ledgerEntry(client, decision.key, decision.effect);
        await client.query('COMMIT');
        return after;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 7))', [lockKey]);
    }
  });
}

/** Confirmed not performed: the claim goes, so the next attempt (a redrive) performs the effect. */
export function releaseEffect(db: Pool, decision: OperatorDecision): Promise<LedgerEntry | undefined> {
  return decide(db, decision, 'released', async (client) => {
    await client.query(`DELETE FROM effects_ledger WHERE effect_key = $1 AND effect = $2`, [decision.key, decision.effect]);
  });
}

/** Confirmed performed (`ref`: the provider's id of it): recorded, so a redrive skips it. */
export function markEffectRecorded(db: Pool, decision: OperatorDecision & { providerRef: string }): Promise<LedgerEntry | undefined> {
  return decide(
    db,
    decision,
    'marked_recorded',
    async (client) => {
      await client.query(
        `UPDATE effects_ledger SET status = 'recorded', provider_ref = $3, recorded_at = now() WHERE effect_key = $1 AND effect = $2`,
        [decision.key, decision.effect, decision.providerRef],
      );
    },
    decision.providerRef,
  );
}

/** Never to be performed: a redrive completes the event without it (performEffect answers `abandoned`). */
export function abandonEffect(db: Pool, decision: OperatorDecision): Promise<LedgerEntry | undefined> {
  return decide(db, decision, 'abandoned', async (client) => {
    await client.query(`UPDATE effects_ledger SET status = 'abandoned' WHERE effect_key = $1 AND effect = $2`, [
      decision.key,
      decision.effect,
    ]);
  });
}

import { PipelineError } from '@pipeline/runtime';
import { throwIfAborted } from './deadline';
import type { Pool, PoolClient } from './pool';

/**
 * What to do with a claim a crash (or a timeout after the provider accepted) left unrecorded:
 * the effect may or may not have happened. `retry` performs it again (an email may go twice);
 * `stop` refuses and waits for a person.
 */
export type UnrecordedClaimPolicy = 'retry' | 'stop';

/** The advisory lock one attempt at an effect holds (performEffect), and an operator's action on its entry too. */
export function effectLockKey(key: string, effect: string): string {
  return `${effect}|${key}`;
}

export interface EffectSpec {
  /** What the effect is for, e.g. the event id or `order:<id>`. */
  key: string;
  /** Which effect, e.g. `confirmation-email`, `invoice-pdf`. */
  effect: string;
  policy: UnrecordedClaimPolicy;
}

export interface EffectOutcome {
  /** The provider's id for what was done (SES MessageId, a storage URL). */
  providerRef: string;
  result?: unknown;
}

/**
 * Thrown by `perform` when the effect certainly did not happen (the provider rejected it): the
 * claim is released so a later attempt starts clean. Any other error leaves the claim in place,
 * because the outcome is unknown.
 */
export class EffectNotPerformedError extends PipelineError {
  constructor(message: string, options: { retriable: boolean; cause?: unknown }) {
    super(message, { code: 'EFFECT_NOT_PERFORMED', retriable: options.retriable, cause: options.cause });
    this.name = 'EffectNotPerformedError';
  }
}

/** A claim was left unrecorded and the policy says a person must decide: not retriable. */
export class UnrecordedEffectError extends PipelineError {
  constructor(spec: EffectSpec, claimedAt: Date, attempts: number) {
    const entry = `${JSON.stringify(spec.key)} --effect ${spec.effect}`;
    super(
      `effect ${spec.effect} for ${spec.key} was claimed at ${claimedAt.toISOString()} (${attempts} attempt${attempts === 1 ? '' : 's'}) ` +
        'but never recorded: it may or may not have happened. Check the provider, then say what happened: ' +
        `\`pipeline effects mark-recorded ${entry} --ref REF\` (it happened: a redrive skips it), ` +
        `\`pipeline effects release ${entry}\` (it did not: a redrive performs it) or ` +
        `\`pipeline effects abandon ${entry}\` (it must not happen: a redrive completes the event without it); then redrive the dead letter`,
      { code: 'EFFECT_UNRECORDED', retriable: false },
    );
    this.name = 'UnrecordedEffectError';
  }
}

/**
 * `abandoned`: an operator decided the effect must never happen (`pipeline effects abandon`); the
 * handler goes on without it.
 */
export type EffectResult =
  | { status: 'performed'; providerRef: string }
  | { status: 'already-recorded'; providerRef: string }
  | { status: 'abandoned' };

/**
 * Claims `(key, effect)`, performs it, records the provider's id. A recorded effect is never
 * performed again; an unrecorded claim from an earlier attempt follows the spec's policy.
 *
 * `signal` (the handler's deadline) is looked at before claiming and before calling `perform`,
 * never after: once `perform` has resolved the effect happened, and its record is written
 * whatever the signal says, or a retry would perform it again.
 */
export async function performEffect(
  pool: Pool,
  spec: EffectSpec,
  perform: () => Promise<EffectOutcome>,
  signal?: AbortSignal,
): Promise<EffectResult> {
  const what = `effect ${spec.effect} for ${spec.key}`;
  throwIfAborted(signal, what);
  // One attempt at a time per effect: a second one (a redelivery racing a slow first) backs off.
  const lock = await pool.connect();
  try {
    const { rows: locked } = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 7)) AS ok', [
      effectLockKey(spec.key, spec.effect),
    ]);
    if (!locked[0]?.ok) {
      throw new PipelineError(`effect ${spec.effect} for ${spec.key} is being performed by another attempt`, {
        code: 'EFFECT_IN_PROGRESS',
        retriable: true,
      });
    }
    try {
      return await claimAndPerform(lock, spec, perform, signal, what);
    } finally {
      await lock.query('SELECT pg_advisory_unlock(hashtextextended($1, 7))', [effectLockKey(spec.key, spec.effect)]);
    }
  } finally {
    lock.release();
  }
}

async function claimAndPerform(
  pool: PoolClient,
  spec: EffectSpec,
  perform: () => Promise<EffectOutcome>,
  signal: AbortSignal | undefined,
  what: string,
): Promise<EffectResult> {
  throwIfAborted(signal, what);
  const { rows } = await pool.query<{ status: string; attempts: number; provider_ref: string | null; claimed_at: Date; inserted: boolean }>(
    `INSERT INTO effects_ledger (effect_key, effect) VALUES ($1, $2)
     ON CONFLICT (effect_key, effect) DO UPDATE SET attempts = effects_ledger.attempts + (effects_ledger.status = 'claimed')::int
     RETURNING status, attempts, provider_ref, claimed_at, (xmax = 0) AS inserted`,
    [spec.key, spec.effect],
  );
  const claim = rows[0];
  if (!claim) throw new Error('effects_ledger claim returned no row');
  if (claim.status === 'recorded') return { status: 'already-recorded', providerRef: claim.provider_ref ?? '' };
  if (claim.status === 'abandoned') return { status: 'abandoned' };
  if (!claim.inserted && spec.policy === 'stop') throw new UnrecordedEffectError(spec, claim.claimed_at, claim.attempts - 1);
  if (signal?.aborted) {
    // Not performed by this attempt: take back what the claim changed, keep what earlier attempts left.
    await pool.query(
      claim.inserted
        ? `DELETE FROM effects_ledger WHERE effect_key = $1 AND effect = $2 AND status = 'claimed'`
        : `UPDATE effects_ledger SET attempts = attempts - 1 WHERE effect_key = $1 AND effect = $2 AND status = 'claimed'`,
      [spec.key, spec.effect],
    );
    throwIfAborted(signal, what);
  }
  let outcome: EffectOutcome;
  try {
    outcome = await perform();
  } catch (error) {
    if (error instanceof EffectNotPerformedError) {
      await pool.query(`DELETE FROM effects_ledger WHERE effect_key = $1 AND effect = $2 AND status = 'claimed'`, [spec.key, spec.effect]);
    } else {
      await pool.query(`UPDATE effects_ledger SET last_error = $3 WHERE effect_key = $1 AND effect = $2`, [
        spec.key,
        spec.effect,
        (error as Error).message?.slice(0, 2_000) ?? String(error),
      ]);
    }
    throw error;
  }
  await pool.query(
    `UPDATE effects_ledger SET status = 'recorded', provider_ref = $3, result = $4, recorded_at = now(), last_error = NULL
      WHERE effect_key = $1 AND effect = $2`,
    [spec.key, spec.effect, outcome.providerRef, outcome.result === undefined ? null : JSON.stringify(outcome.result)],
  );
  return { status: 'performed', providerRef: outcome.providerRef };
}

/** Claims nobody recorded, oldest first: what an operator looks at after a crash. */
export async function unrecordedEffects(
  pool: Pool,
  olderThanMs = 0,
): Promise<{ key: string; effect: string; attempts: number; claimedAt: Date; lastError: string | null }[]> {
  const { rows } = await pool.query<{ effect_key: string; effect: string; attempts: number; claimed_at: Date; last_error: string | null }>(
    `SELECT effect_key, effect, attempts, claimed_at, last_error FROM effects_ledger
      WHERE status = 'claimed' AND claimed_at < now() - make_interval(secs => $1::double precision / 1000)
      ORDER BY claimed_at`,
    [olderThanMs],
  );
  return rows.map((r) => ({ key: r.effect_key, effect: r.effect, attempts: r.attempts, claimedAt: r.claimed_at, lastError: r.last_error }));
}

import { PipelineError } from '@pipeline/runtime';
import { type Change, isUnavailable, type OpportunitiesRow } from '@pipeline/schemas';
import type { ProjectedState } from './state';

/** The columns the projection counts by: a placeholder in one of them must never be counted. */
const COUNTED = ['stage', 'value', 'owner'] as const;

/**
 * The change as the projection may count it (pure): a counted column that is unavailable (a
 * placeholder: PostgreSQL did not send it, or the reader left it out of a change too large for
 * its topic) keeps the opportunity's stored value, the value it had when last applied. An
 * opportunity not stored yet has none to keep: that change is a dead letter saying why. A
 * snapshot row without its `updated_at` is dated by the snapshot; an old stage that is unavailable
 * is the stored one. The single path and the batch path both go through here.
 */
export function withCountedColumns<C extends Change<OpportunitiesRow>>(change: C, stored: ProjectedState | undefined): C {
  if (change.op === 'd' || change.op === 't') return change;
  const missing = COUNTED.filter((column) => isUnavailable(change, 'after', column));
  const undated = change.op === 'r' && isUnavailable(change, 'after', 'updated_at');
  const oldStage = change.op === 'u' && change.before !== null && isUnavailable(change, 'before', 'stage');
  if (missing.length === 0 && !undated && !oldStage) return change;
  if (missing.length > 0 && !stored) {
    throw new PipelineError(
      `opportunity ${change.after.id} changed (event ${change.eventId}) without its ${missing.join(', ')} (unavailable: ${change.unavailable.join(', ')}), ` +
        'and the projection has no earlier value of it to keep: it cannot count this change. If the value was too large for its topic ' +
        "(the cdc-reader's dead letter says so), raise the topic's max.message.bytes or make the column smaller, then rebuild the projection " +
        '(`pipeline projection rebuild`); otherwise resolve this letter',
      { code: 'COLUMN_UNAVAILABLE', retriable: false },
    );
  }
  const after = { ...change.after };
  for (const column of missing) {
    if (stored) (after as Record<string, unknown>)[column] = stored[column];
  }
  if (undated) after.updated_at = change.source.commitTs;
  if (change.op === 'u') {
    const before = oldStage && change.before ? { ...change.before, stage: stored?.stage ?? after.stage } : change.before;
    return { ...change, before, after } as C;
  }
  // The same op as it came in (only its rows' values change): the caller's narrowing holds.
  return { ...change, after } as C;
}

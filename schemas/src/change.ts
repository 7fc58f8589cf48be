import type { DecodedChange } from './envelope-decoder';
import type { RowTypes, Source } from './generated/types';

/** A captured table, as `<schema>.<table>`: the keys of the generated row types. */
export type Subject = keyof RowTypes;

interface ChangeBase {
  /** `<schema>.<table>`. */
  subject: string;
  /** Deterministic: the same change delivered twice carries the same id (what idempotency keys on). */
  eventId: string;
  source: Source;
  /** Columns PostgreSQL did not send (`before.<column>`, `after.<column>`): they hold a placeholder. */
  unavailable: readonly string[];
  /** When the reader produced the event, ms since the epoch. */
  tsMs: number;
}

/**
 * One committed change to a row, shaped by its `op` so a handler narrows without null checks:
 * an insert has `after` only, a delete `before` only, a snapshot read (`snapshot: true`) is an
 * upsert of the current row, a truncate has neither. An update has `before` when the table's
 * replica identity sends it (REPLICA IDENTITY FULL, as the captured tables are).
 */
export type Change<Row> = ChangeBase &
  (
    | { op: 'c'; snapshot: false; before: null; after: Row }
    | { op: 'u'; snapshot: false; before: Row | null; after: Row }
    | { op: 'd'; snapshot: false; before: Row; after: null }
    | { op: 'r'; snapshot: true; before: null; after: Row }
    | { op: 't'; snapshot: false; before: null; after: null }
  );

/** The change of a captured table, typed from the generated row types. */
export type TableChange<S extends Subject> = Change<RowTypes[S]>;

/**
 * A decoded envelope as a Change. The shape per op is what `validateEnvelope` checked, so the
 * narrowing holds for every change the decoder hands over.
 */
export function toChange<Row>({ subject, envelope }: DecodedChange<Row>): Change<Row> {
  return {
    subject,
    eventId: envelope.eventId,
    source: envelope.source,
    unavailable: envelope.unavailable,
    tsMs: envelope.tsMs,
    op: envelope.op,
    snapshot: envelope.op === 'r',
    before: envelope.before,
    after: envelope.after,
  } as Change<Row>;
}

/**
 * Whether a change's `side.column` holds a placeholder instead of its value: PostgreSQL did not
 * send it (an unchanged TOAST value without the old row), or the reader left it out of a change
 * too large for its topic. A handler never stores or acts on such a value: it reads the current
 * row, keeps what it stored, or dead-letters the change saying why.
 */
export function isUnavailable(change: { readonly unavailable: readonly string[] }, side: 'before' | 'after', column: string): boolean {
  return change.unavailable.includes(`${side}.${column}`);
}

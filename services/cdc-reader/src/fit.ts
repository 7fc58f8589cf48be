import type { ParsedSchema } from '@pipeline/schemas';
import { type FieldKind, placeholder } from './columns';
import type { OutEvent } from './mapper';
import { type BuiltRecord, changeRecord } from './records';

/** A column whose value was left out of a change's record, and how big the value was (bytes). */
export interface LeftOutColumn {
  /** `before.<column>` or `after.<column>`, as the envelope's `unavailable` lists it. */
  column: string;
  bytes: number;
}

/** What fitting a change into its topic's record limit came to. */
export type FitResult =
  | { kind: 'fits'; record: BuiltRecord }
  /** Its largest values were replaced by their placeholders (and listed in `unavailable`) until it fit. */
  | { kind: 'shrunk'; record: BuiltRecord; leftOut: LeftOutColumn[]; originalBytes: number }
  /** Even with every value but the key's left out it does not fit: only a dead letter can say it happened. */
  | { kind: 'too-large'; columns: LeftOutColumn[]; originalBytes: number };

/** What the fitting needs to know of the change's table. */
export interface FitTable {
  fields: readonly FieldKind[];
  /** Columns never left out: the message key's (the primary key, else the replica identity key). */
  keyColumns: readonly string[];
  writer: ParsedSchema;
}

/** How large a change's record may be. */
export interface RecordBudget {
  /** Uncompressed. */
  maxRecordBytes: number;
  /** With compression: whether a record larger than that fits anyway once compressed (in a batch of its own). */
  fitsCompressed?: (record: BuiltRecord) => boolean;
}

/** A value's size as Avro writes it, near enough to choose the largest: text and bytes by length, the rest small. */
function valueBytes(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (Buffer.isBuffer(value)) return value.length;
  return value === null || value === undefined ? 0 : 8;
}

/**
 * A change as a record that fits `maxRecordBytes` (pure). A change too large for its topic is
 * produced with its largest values replaced by their placeholders and listed in `unavailable` (as
 * PostgreSQL's unchanged TOAST values are), largest first, until it fits; the key's columns are
 * never left out. With compression, a record that fits once compressed is produced whole. Nothing
 * before or after it waits: the caller dead-letters what was left out.
 */
export function fitChange(event: OutEvent, table: FitTable, traceId: string, budget: RecordBudget): FitResult {
  const { maxRecordBytes } = budget;
  const whole = changeRecord(event, table.writer, traceId);
  if (whole.bytes <= maxRecordBytes || budget.fitsCompressed?.(whole)) return { kind: 'fits', record: whole };
  const keys = new Set(table.keyColumns);
  const already = new Set(event.envelope.unavailable);
  const rows = {
    before: event.envelope.before ? { ...event.envelope.before } : null,
    after: event.envelope.after ? { ...event.envelope.after } : null,
  };
  const candidates = (['before', 'after'] as const)
    .flatMap((side) =>
      table.fields
        .filter((field) => rows[side] !== null && !keys.has(field.name) && !already.has(`${side}.${field.name}`))
        .map((field) => ({ side, field, column: `${side}.${field.name}`, bytes: valueBytes(rows[side]?.[field.name]) })),
    )
    .sort((a, b) => b.bytes - a.bytes);
  const leftOut: LeftOutColumn[] = [];
  let record = whole;
  let next = 0;
  while (record.bytes > maxRecordBytes && next < candidates.length) {
    // Leave out as many of the largest values as the excess needs, then measure again.
    let excess = record.bytes - maxRecordBytes;
    do {
      const candidate = candidates[next++];
      if (!candidate) break;
      const row = rows[candidate.side] as Record<string, unknown>;
      row[candidate.field.name] = placeholder(candidate.field);
      leftOut.push({ column: candidate.column, bytes: candidate.bytes });
      excess -= candidate.bytes;
    } while (excess > 0 && next < candidates.length);
    record = changeRecord(
      {
        ...event,
        envelope: {
          ...event.envelope,
          before: rows.before,
          after: rows.after,
          unavailable: [...event.envelope.unavailable, ...leftOut.map((l) => l.column)],
        },
      },
      table.writer,
      traceId,
    );
  }
  if (record.bytes > maxRecordBytes) {
    return { kind: 'too-large', columns: candidates.map(({ column, bytes }) => ({ column, bytes })), originalBytes: whole.bytes };
  }
  return { kind: 'shrunk', record, leftOut, originalBytes: whole.bytes };
}

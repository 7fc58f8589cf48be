import { PipelineError } from '@pipeline/runtime';
import type { Envelope } from './generated/types';

/**
 * An envelope that decodes but breaks the contract (docs/architecture.md, "The event contract"): an
 * insert without `after`, a change filed under another table, no event id. Not retriable — the
 * writer is wrong — so it goes to the dead-letter topic at once.
 */
export class InvalidEnvelopeError extends PipelineError {
  readonly problems: readonly string[];

  constructor(subject: string, eventId: string | undefined, problems: readonly string[]) {
    super(
      `invalid change envelope on ${subject}${eventId ? ` (event ${eventId})` : ''}: ${problems.join('; ')}. ` +
        'It goes to the dead-letter topic; fix the writer, then redrive it.',
      { code: 'INVALID_ENVELOPE', retriable: false },
    );
    this.name = 'InvalidEnvelopeError';
    this.problems = problems;
  }
}

/** What each op must carry: [before, after] present (true), absent (false) or either (undefined). */
const SHAPE: Record<Envelope<unknown>['op'], readonly [boolean | undefined, boolean]> = {
  c: [false, true],
  // Without REPLICA IDENTITY FULL, PostgreSQL sends no old row for an update that keeps the key.
  u: [undefined, true],
  d: [true, false],
  r: [false, true],
  t: [false, false],
};

const LSN = /^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i;
const UNAVAILABLE = /^(before|after)\.(.+)$/;

/** Every way `envelope` breaks the contract for `subject` (`<schema>.<table>`); empty when it is valid. */
export function envelopeProblems(envelope: Envelope<Record<string, unknown>>, subject: string): string[] {
  const problems: string[] = [];
  if (!envelope.eventId) problems.push('eventId is empty');
  const shape = SHAPE[envelope.op];
  if (!shape) {
    problems.push(`op ${JSON.stringify(envelope.op)} is not one of c, u, d, r, t`);
  } else {
    const [before, after] = shape;
    if (before === true && envelope.before === null) problems.push(`op ${envelope.op} without before`);
    if (before === false && envelope.before !== null) problems.push(`op ${envelope.op} with a before row`);
    if (after && envelope.after === null) problems.push(`op ${envelope.op} without after`);
    if (!after && envelope.after !== null) problems.push(`op ${envelope.op} with an after row`);
  }
  const { source } = envelope;
  const table = `${source.schema}.${source.table}`;
  if (table !== subject) problems.push(`source names ${table}, but the schema is ${subject}'s`);
  if (!LSN.test(source.lsn)) problems.push(`source.lsn ${JSON.stringify(source.lsn)} is not an LSN such as 0/4F52CB8`);
  if (source.snapshot !== (envelope.op === 'r')) problems.push(`source.snapshot is ${source.snapshot} with op ${envelope.op}`);
  for (const entry of envelope.unavailable) {
    const match = UNAVAILABLE.exec(entry);
    const row = match?.[1] === 'before' ? envelope.before : match?.[1] === 'after' ? envelope.after : undefined;
    if (!match || !row || !(String(match[2]) in row)) {
      problems.push(`unavailable names ${JSON.stringify(entry)}, which is not a column of the before or after row`);
    }
  }
  return problems;
}

/** Throws InvalidEnvelopeError when `envelope` breaks the contract. */
export function validateEnvelope<Row>(envelope: Envelope<Row>, subject: string): Envelope<Row> {
  const problems = envelopeProblems(envelope as Envelope<Record<string, unknown>>, subject);
  if (problems.length > 0) throw new InvalidEnvelopeError(subject, envelope.eventId || undefined, problems);
  return envelope;
}

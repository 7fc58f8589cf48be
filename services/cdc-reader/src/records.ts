import { failureHeaders, READER_DLQ_HEADERS } from '@pipeline/kafka';
import { PipelineError } from '@pipeline/runtime';
import type { Message } from 'kafkajs';

/** The reader's name as a dead letter's consumer group: `pipeline dlq … --service cdc-reader`. */
const READER_SERVICE = 'cdc-reader';

/** A change the reader could not encode: not retriable, since the same bytes fail the same way. */
export class UnencodableChangeError extends PipelineError {
  constructor(subject: string, reason: string, cause: unknown) {
    super(reason, { code: 'UNENCODABLE_CHANGE', retriable: false, cause });
    this.name = 'UnencodableChangeError';
    this.subject = subject;
  }

  readonly subject: string;
}

export interface DeadLetterInput {
  /** `<schema>.<table>`. */
  subject: string;
  /** The topic the change was for. */
  topic: string;
  eventId: string;
  commitLsn: string;
  xid: number;
  /** The change as pgoutput delivered it (its relation left out). */
  change: { tag: string } & Record<string, unknown>;
  error: unknown;
  nowMs: number;
}

/**
 * A change the reader could not encode, as a record of its dead-letter topic: the change as
 * JSON, keyed by the table, with the same failure headers a consumer's dead letter has (so
 * `pipeline dlq` reads both). It never reached a partition of its topic: partition -1, no offset.
 */
export function deadLetterRecord(input: DeadLetterInput): { message: Message; bytes: number; reason: string } {
  const reason = input.error instanceof Error ? input.error.message : String(input.error);
  const value = JSON.stringify(
    { table: input.subject, tag: input.change.tag, commitLsn: input.commitLsn, xid: input.xid, change: input.change },
    (key, field) => (key === 'relation' || key === 'relations' ? undefined : typeof field === 'bigint' ? field.toString() : field),
  );
  const headers = {
    'event-id': input.eventId,
    [READER_DLQ_HEADERS.errorMessage]: reason.slice(0, 1000),
    [READER_DLQ_HEADERS.sourceTable]: input.subject,
    [READER_DLQ_HEADERS.sourceLsn]: input.commitLsn,
    ...failureHeaders({
      originalTopic: input.topic,
      originalPartition: -1,
      originalOffset: '',
      attempt: 1,
      firstFailureAtMs: input.nowMs,
      consumerGroup: READER_SERVICE,
      error: new UnencodableChangeError(input.subject, reason, input.error),
    }),
  };
  return { message: { key: input.subject, value, headers }, bytes: value.length, reason };
}

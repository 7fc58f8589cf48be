import type { ParsedSchema } from './avro';
import { readSingleObjectHeader, SingleObjectDecoder, type WriterSchemaSource } from './codec';
import { AVRO_DIR, envelopeSchema, listSubjects } from './files';
import type { Envelope } from './generated/types';
import {
  isSnapshotEnd,
  isSnapshotEndSchema,
  SNAPSHOT_END,
  type SnapshotEnd,
  type SnapshotEndRecord,
  snapshotEndSchema,
} from './snapshot-end';
import { InvalidEnvelopeError, validateEnvelope } from './validate';

/** A change read from a cdc topic: the table it belongs to and its checked envelope. */
export interface DecodedChange<Row = Record<string, unknown>> {
  /** `<schema>.<table>`, from the writer schema's name. */
  subject: string;
  envelope: Envelope<Row>;
}

const ENVELOPE_NAME = /^pipeline\.cdc\.(.+)\.Envelope$/;

/** `pipeline.cdc.public.orders.Envelope` → `public.orders`; undefined for any other schema. */
export function subjectOfEnvelope(schemaName: string): string | undefined {
  return ENVELOPE_NAME.exec(schemaName)?.[1];
}

/** The consumer's own reader schema of every bundled subject (the current envelope). */
export function bundledReaders(dir: string = AVRO_DIR): Map<string, ParsedSchema> {
  return new Map(listSubjects(dir).map((subject) => [subject, envelopeSchema(subject, dir)]));
}

/**
 * Reads change envelopes as a consumer: resolves the writer schema by fingerprint (bundled, then
 * `_pipeline.schemas`), reads with this consumer's schema of that table (schema evolution), and
 * validates the result. Errors carry whether a retry can help: bytes of another shape and invalid
 * envelopes cannot; an unknown fingerprint can.
 */
export class EnvelopeDecoder {
  private readonly decoder: SingleObjectDecoder;

  constructor(
    private readonly writers: WriterSchemaSource,
    private readonly readers: ReadonlyMap<string, ParsedSchema> = bundledReaders(),
  ) {
    this.decoder = new SingleObjectDecoder(writers);
  }

  /** A change envelope; a control record (the end of a snapshot) is refused as not a change. */
  async decode<Row = Record<string, unknown>>(bytes: Buffer | null | undefined): Promise<DecodedChange<Row>> {
    const decoded = await this.decodeEvent<Row>(bytes);
    if (isSnapshotEnd(decoded)) {
      throw new InvalidEnvelopeError(decoded.subject, decoded.eventId, [
        `this is a control record (${decoded.kind}: the end of a snapshot on partition ${decoded.partition}), not a change envelope; decodeEvent reads both`,
      ]);
    }
    return decoded;
  }

  /** Whatever the reader writes to a cdc topic: a change envelope, or the end of a table's snapshot on one partition. */
  async decodeEvent<Row = Record<string, unknown>>(bytes: Buffer | null | undefined): Promise<DecodedChange<Row> | SnapshotEnd> {
    const { fingerprint, body } = readSingleObjectHeader(bytes);
    const writer = await this.writers(fingerprint);
    if (isSnapshotEndSchema(writer.name)) {
      const record = this.decoder.decodeBody<SnapshotEndRecord>(body, writer, snapshotEndSchema());
      return { kind: SNAPSHOT_END, subject: `${record.schema}.${record.table}`, ...record };
    }
    const subject = subjectOfEnvelope(writer.name);
    if (subject === undefined) {
      throw new InvalidEnvelopeError('(unknown table)', undefined, [
        `written with schema ${writer.name} (fingerprint ${writer.fingerprint.hex}), which is not a change envelope`,
      ]);
    }
    // A table this consumer does not bundle is read as it was written.
    const envelope = this.decoder.decodeBody<Envelope<Row>>(body, writer, this.readers.get(subject) ?? writer);
    return { subject, envelope: validateEnvelope(envelope, subject) };
  }
}

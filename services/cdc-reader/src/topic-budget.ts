import { gzipSync } from 'node:zlib';
import { DEFAULT_MAX_MESSAGE_BYTES, RECORD_BATCH_OVERHEAD_BYTES, recordBytes, usableBatchBytes } from '@pipeline/kafka';
import type { Message } from 'kafkajs';
import type { RecordBudget } from './fit';

/**
 * Room a consumer needs to copy a record onto its retry or dead-letter topic: the failure headers
 * it adds (where it came from, the attempt, the error and its stack, a few KiB at most).
 */
export const CONSUMER_COPY_HEADROOM_BYTES = 16 * 1024;

/**
 * How big the reader lets what it produces get, per topic, from the topic's `max.message.bytes`
 * (read from the brokers when a session starts): a batch of one topic stays within it (Kafka's
 * limit is per record batch, and a request holds one batch per partition, so a topic's share of
 * a request is bounded), and one change's record leaves a consumer room to copy it.
 */
export class TopicBudgets {
  constructor(
    private readonly limits: ReadonlyMap<string, number>,
    private readonly compressed: boolean,
  ) {}

  /** The topic's max.message.bytes (Kafka's default when it was not read). */
  limit(topic: string): number {
    return this.limits.get(topic) ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** What one topic's records in one request may add up to, record batch header included. */
  batchBytes(topic: string): number {
    return usableBatchBytes(this.limit(topic), this.compressed);
  }

  /** The largest one record may be (uncompressed): alone in its batch, with room for a consumer's copy. */
  recordBytes(topic: string): number {
    return Math.max(1_024, this.batchBytes(topic) - RECORD_BATCH_OVERHEAD_BYTES - CONSUMER_COPY_HEADROOM_BYTES);
  }

  /**
   * How large a change's record may be on `topic`. With compression, one larger than that still
   * fits when its value compressed (gzip, as kafkajs compresses) leaves a tenth of the limit free:
   * the estimate leaves out the batch's other bytes, and a refusal would fail the session.
   */
  recordBudget(topic: string): RecordBudget {
    const maxRecordBytes = this.recordBytes(topic);
    if (!this.compressed) return { maxRecordBytes };
    return {
      maxRecordBytes,
      fitsCompressed: ({ message }) => compressedBytes(message) <= Math.floor(maxRecordBytes * 0.9),
    };
  }
}

/** A record's size with its value gzipped: key, headers and framing as they are. */
function compressedBytes(message: Message): number {
  const value = message.value === null || message.value === undefined ? Buffer.alloc(0) : Buffer.from(message.value);
  return recordBytes({ ...message, value: gzipSync(value) });
}

import type { Message } from 'kafkajs';

/**
 * How many bytes records take on the wire, as Kafka's record batch format (v2) lays them out, at
 * most: a broker refuses a batch larger than the topic's `max.message.bytes` (kafkajs checks no
 * size before sending), so whoever builds batches bounds them with these.
 */

/** The header of one record batch (base offset, length, epoch, magic, CRC, attributes, offsets, timestamps, ids, count). */
export const RECORD_BATCH_OVERHEAD_BYTES = 61;

/** A record's own fields beyond key, value and headers, every varint at its longest: length, attributes, timestamp and offset deltas, key and value lengths, header count. */
const RECORD_FIXED_BYTES = 5 + 1 + 10 + 5 + 5 + 5 + 5;
/** Per header: the varint lengths of its key and value. */
const HEADER_FIXED_BYTES = 10;

const sizeOf = (value: string | Buffer | null | undefined): number =>
  value === null || value === undefined ? 0 : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;

/** The most one record can take inside a batch (uncompressed). */
export function recordBytes(message: Pick<Message, 'key' | 'value' | 'headers'>): number {
  let bytes = RECORD_FIXED_BYTES + sizeOf(message.key) + sizeOf(message.value);
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const values = Array.isArray(value) ? value : [value];
    for (const single of values) bytes += HEADER_FIXED_BYTES + sizeOf(name) + sizeOf(single as string | Buffer | undefined);
  }
  return bytes;
}

/**
 * The batch size to build up to for a topic whose `max.message.bytes` is `limitBytes`: with
 * compression the broker checks the compressed batch, which gzip can make a little larger than
 * the records on incompressible data (5 bytes per 16 KiB block and a header), so that is kept free.
 */
export function usableBatchBytes(limitBytes: number, compressed: boolean): number {
  return compressed ? limitBytes - Math.ceil(limitBytes / 16_384) * 5 - 64 : limitBytes;
}

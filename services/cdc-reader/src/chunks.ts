import { RECORD_BATCH_OVERHEAD_BYTES } from '@pipeline/kafka';
import type { BuiltRecord } from './records';

/**
 * Records of one topic cut into sends whose batch stays within `maxBatchBytes` (the topic's
 * max.message.bytes, which the broker applies to each partition's batch), in order; a record
 * larger than that on its own (one that fits only compressed) goes alone.
 */
export function chunkRecords(records: readonly BuiltRecord[], maxBatchBytes: number): BuiltRecord[][] {
  const chunks: BuiltRecord[][] = [];
  let current: BuiltRecord[] = [];
  let bytes = RECORD_BATCH_OVERHEAD_BYTES;
  for (const record of records) {
    if (current.length > 0 && bytes + record.bytes > maxBatchBytes) {
      chunks.push(current);
      current = [];
      bytes = RECORD_BATCH_OVERHEAD_BYTES;
    }
    current.push(record);
    bytes += record.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

import { type ParsedSchema, parseSchema } from './avro';
import { AVRO_DIR, controlFile, readJson } from './files';

/**
 * The end-of-snapshot control record (`schemas/avro/control/snapshot-end.avsc`). After a table's
 * snapshot the reader writes one to every partition of the table's topic, after the snapshot's
 * rows, so a consumer that keeps rows (a projection) can drop those the snapshot did not re-read:
 * rows deleted while no slot captured changes are never emitted as deletes.
 */

/** Its value of the `control` header (EVENT_HEADERS.control). */
export const SNAPSHOT_END = 'snapshot-end';

/** The record as written (Avro). */
export interface SnapshotEndRecord {
  db: string;
  schema: string;
  table: string;
  slot: string;
  consistentPoint: string;
  partition: number;
  partitions: number;
  rows: number;
  eventId: string;
  /** ms since the epoch. */
  tsMs: number;
}

/** A decoded end-of-snapshot record as consumers see it, beside `Change` (`kind` tells them apart). */
export interface SnapshotEnd extends SnapshotEndRecord {
  kind: typeof SNAPSHOT_END;
  /** `<schema>.<table>`. */
  subject: string;
}

const SCHEMA_NAME = 'pipeline.cdc.SnapshotEnd';

let parsed: ParsedSchema | undefined;

/** The current end-of-snapshot schema (parsed once). */
export function snapshotEndSchema(dir: string = AVRO_DIR): ParsedSchema {
  if (dir !== AVRO_DIR) return parseSchema(readJson(controlFile(SNAPSHOT_END, dir)));
  parsed ??= parseSchema(readJson(controlFile(SNAPSHOT_END, dir)));
  return parsed;
}

/** True for a schema of the end-of-snapshot record (any version). */
export function isSnapshotEndSchema(schemaName: string): boolean {
  return schemaName === SCHEMA_NAME;
}

/** `<system id>:<consistent point>:e:<schema>.<table>:p<partition>`: ranks just before the snapshot's rows (see eventPosition). */
export function snapshotEndEventId(systemId: string, consistentPoint: string, subject: string, partition: number): string {
  return `${systemId}:${consistentPoint}:e:${subject}:p${partition}`;
}

/** Narrows a decoded record of a cdc topic. */
export function isSnapshotEnd(event: { kind?: unknown } | object): event is SnapshotEnd {
  return (event as { kind?: unknown }).kind === SNAPSHOT_END;
}

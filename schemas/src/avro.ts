import avro from 'avsc';
import { type Fingerprint, fingerprintOf } from './fingerprint';
import { LOGICAL_TYPES } from './logical-types';

/** A schema ready to encode and decode, with its identity. */
export interface ParsedSchema {
  /** The schema's JSON as written (logical types, docs and defaults included). */
  readonly json: unknown;
  readonly type: avro.Type;
  readonly fingerprint: Fingerprint;
  /** The full name of the top-level named type, for messages. */
  readonly name: string;
}

/** Parses a schema with this pipeline's logical types, in a registry of its own (versions never clash). */
export function parseSchema(json: unknown): ParsedSchema {
  const type = avro.Type.forSchema(json as avro.Schema, { logicalTypes: LOGICAL_TYPES, registry: {}, omitRecordMethods: true });
  return { json, type, fingerprint: fingerprintOf(json), name: type.name ?? type.typeName };
}

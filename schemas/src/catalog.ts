import type { ParsedSchema } from './avro';
import { canonicalFormWithLogicalTypes } from './canonical';

function fullJson(schema: ParsedSchema): string {
  return canonicalFormWithLogicalTypes(schema.json);
}

/**
 * Schemas by fingerprint. Parsing Canonical Form ignores logicalType, precision and scale, so two
 * schemas differing only there would share a fingerprint and one would be read as the other:
 * adding the second is refused.
 */
export class SchemaCatalog {
  private readonly byHex = new Map<string, ParsedSchema>();

  constructor(schemas: Iterable<ParsedSchema> = []) {
    for (const schema of schemas) this.add(schema);
  }

  /** Adds a schema; true when it was new. */
  add(schema: ParsedSchema): boolean {
    const existing = this.byHex.get(schema.fingerprint.hex);
    if (!existing) {
      this.byHex.set(schema.fingerprint.hex, schema);
      return true;
    }
    if (fullJson(existing) !== fullJson(schema)) {
      throw new Error(
        `schemas ${existing.name} and ${schema.name} share fingerprint ${schema.fingerprint.hex} but differ in ` +
          'logical types, precision or scale: such a change needs a new field name, not an edit',
      );
    }
    return false;
  }

  get(hex: string): ParsedSchema | undefined {
    return this.byHex.get(hex);
  }

  get size(): number {
    return this.byHex.size;
  }
}

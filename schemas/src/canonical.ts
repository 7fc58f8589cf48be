/**
 * Avro's Parsing Canonical Form (specification, "Parsing Canonical Form for Schemas"): the form
 * whose CRC-64-AVRO fingerprint identifies a schema in the single-object encoding. Written here
 * from the specification rather than taken from avsc, and tested against Apache Avro's own test
 * values. Note what it drops: doc, aliases, defaults, order, and logicalType/precision/scale, so
 * two schemas that differ only there share a fingerprint (compat.ts compares those explicitly).
 */

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
/** [ORDER] the attributes kept, in the order the form writes them. */
const KEPT = ['name', 'type', 'fields', 'symbols', 'items', 'values', 'size'] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function parsingCanonicalForm(schema: unknown): string {
  return write(schema as Json, '', new Set(), false);
}

/**
 * Parsing Canonical Form plus logicalType, precision and scale: what must be equal for two schemas
 * with one fingerprint to mean the same bytes the same way.
 */
export function canonicalFormWithLogicalTypes(schema: unknown): string {
  return write(schema as Json, '', new Set(), true);
}

const LOGICAL = ['logicalType', 'precision', 'scale'] as const;

function fullName(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}

function namespaceOf(fullname: string): string {
  const dot = fullname.lastIndexOf('.');
  return dot < 0 ? '' : fullname.slice(0, dot);
}

function write(schema: Json, namespace: string, seen: Set<string>, logical: boolean): string {
  if (typeof schema === 'string') {
    // [PRIMITIVES] stay as they are; a reference to a named type becomes its full name.
    return JSON.stringify(PRIMITIVES.has(schema) ? schema : fullName(schema, namespace));
  }
  if (Array.isArray(schema)) return `[${schema.map((branch) => write(branch, namespace, seen, logical)).join(',')}]`;
  if (schema === null || typeof schema !== 'object') throw new Error(`not an Avro schema: ${JSON.stringify(schema)}`);
  const type = schema.type;
  if (typeof type !== 'string') {
    // {"type": {...}} or {"type": [...]}: the inner schema is the schema.
    return write(type as Json, namespace, seen, logical);
  }
  if (PRIMITIVES.has(type)) {
    const kept = logical ? LOGICAL.filter((key) => key in schema) : [];
    if (kept.length === 0) return JSON.stringify(type);
    return `{"type":${JSON.stringify(type)},${kept.map((key) => `"${key}":${JSON.stringify(schema[key])}`).join(',')}}`;
  }
  let name: string | undefined;
  let innerNamespace = namespace;
  if (type === 'record' || type === 'error' || type === 'enum' || type === 'fixed') {
    const ns = typeof schema.namespace === 'string' ? schema.namespace : namespace;
    name = fullName(String(schema.name), ns);
    innerNamespace = namespaceOf(name);
    // [FULLNAMES] a named type is written out once; later occurrences are its full name.
    if (seen.has(name)) return JSON.stringify(name);
    seen.add(name);
  }
  const parts: string[] = [];
  for (const key of KEPT) {
    if (!(key in schema)) continue;
    const value = schema[key] as Json;
    switch (key) {
      case 'name':
        parts.push(`"name":${JSON.stringify(name)}`);
        break;
      case 'type':
        parts.push(`"type":${JSON.stringify(type === 'error' ? 'record' : type)}`);
        break;
      case 'fields':
        parts.push(
          `"fields":[${(value as { [key: string]: Json }[])
            .map((field) => `{"name":${JSON.stringify(field.name)},"type":${write(field.type as Json, innerNamespace, seen, logical)}}`)
            .join(',')}]`,
        );
        break;
      case 'symbols':
        parts.push(`"symbols":${JSON.stringify(value)}`);
        break;
      case 'items':
      case 'values':
        parts.push(`"${key}":${write(value, innerNamespace, seen, logical)}`);
        break;
      case 'size':
        // [INTEGERS] no leading zeros: JSON numbers already have none.
        parts.push(`"size":${Number(value)}`);
        break;
    }
  }
  if (logical) for (const key of LOGICAL) if (key in schema) parts.push(`"${key}":${JSON.stringify(schema[key])}`);
  return `{${parts.join(',')}}`;
}

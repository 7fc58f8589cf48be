/**
 * From PostgreSQL's text output to the Avro value a row schema expects, exactly: the reader asks
 * pgoutput for text and never lets `pg`'s parsers touch values (they turn timestamptz into a
 * millisecond Date and jsonb into objects with floating-point numbers).
 */

/** Type OIDs whose text needs more than copying. */
export const PG_TYPE = { bool: 16, bytea: 17, timestamp: 1114, timestamptz: 1184 } as const;

/** What a schema field is, reduced to what conversion needs. */
export interface FieldKind {
  name: string;
  nullable: boolean;
  /** Avro base type: string, int, long, float, double, boolean, bytes. */
  type: string;
  logicalType?: string;
  scale?: number;
}

/** Reads a row schema's fields into FieldKinds. */
export function fieldKinds(fields: readonly { name: string; type: unknown }[]): FieldKind[] {
  return fields.map((field) => {
    let node = field.type;
    let nullable = false;
    if (Array.isArray(node)) {
      nullable = node.includes('null');
      node = node.find((branch) => branch !== 'null');
    }
    if (typeof node === 'string') return { name: field.name, nullable, type: node };
    const n = node as { type: string; logicalType?: string; scale?: number };
    return {
      name: field.name,
      nullable,
      type: n.type,
      ...(n.logicalType ? { logicalType: n.logicalType } : {}),
      ...(n.scale !== undefined ? { scale: n.scale } : {}),
    };
  });
}

/** Marker of a value PostgreSQL did not send (text columns); other types get a zero. */
export const UNAVAILABLE_TEXT = '__unavailable__';

/** The placeholder a field holds when its value is unavailable (listed in the envelope's `unavailable`). */
export function placeholder(kind: FieldKind): unknown {
  if (kind.nullable) return null;
  if (kind.logicalType === 'decimal') return kind.scale ? `0.${'0'.repeat(kind.scale)}` : '0';
  if (kind.logicalType === 'timestamp-micros') return '1970-01-01T00:00:00.000000Z';
  switch (kind.type) {
    case 'string':
      return UNAVAILABLE_TEXT;
    case 'int':
    case 'long':
    case 'float':
    case 'double':
      return 0;
    case 'boolean':
      return false;
    case 'bytes':
      return Buffer.alloc(0);
    default:
      throw new Error(`no placeholder for field ${kind.name} of type ${kind.type}`);
  }
}

/** A column value that does not fit its field: the change goes to the reader's dead-letter topic. */
export class ColumnValueError extends Error {
  constructor(
    readonly column: string,
    message: string,
  ) {
    super(`column ${column}: ${message}`);
    this.name = 'ColumnValueError';
  }
}

/** Converts one column's text (null for SQL NULL) to the field's Avro value. */
export function convertText(kind: FieldKind, text: string | null, typeOid: number): unknown {
  if (text === null) {
    if (!kind.nullable) throw new ColumnValueError(kind.name, 'is NULL but its schema field is not nullable');
    return null;
  }
  if (kind.logicalType === 'timestamp-micros') {
    if (/^-?infinity$/.test(text)) throw new ColumnValueError(kind.name, `${text} cannot be carried as timestamp-micros`);
    // timestamp without time zone has no offset: it is read as UTC.
    return typeOid === PG_TYPE.timestamp ? `${text}Z` : text;
  }
  if (kind.logicalType === 'decimal') {
    if (!/^-?\d+(\.\d+)?$/.test(text)) throw new ColumnValueError(kind.name, `${text} cannot be carried as a decimal`);
    return text;
  }
  switch (kind.type) {
    case 'string':
      return text;
    case 'int':
    case 'long': {
      const value = Number(text);
      if (!Number.isSafeInteger(value))
        throw new ColumnValueError(kind.name, `${text} is not an integer a JavaScript number holds exactly`);
      return value;
    }
    case 'float':
    case 'double':
      return Number(text);
    case 'boolean':
      return text === 't';
    case 'bytes':
      if (typeOid !== PG_TYPE.bytea || !text.startsWith('\\x')) throw new ColumnValueError(kind.name, 'expected bytea in hex output');
      return Buffer.from(text.slice(2), 'hex');
    default:
      throw new ColumnValueError(kind.name, `no conversion to Avro ${kind.type}`);
  }
}

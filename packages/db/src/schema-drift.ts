import type { RowSchemaJson } from '@pipeline/schemas';
import type { Queryable } from './pool';

interface ColumnType {
  type: string;
  logicalType?: string;
  precision?: number;
  scale?: number;
}

/** How a PostgreSQL column type is carried in Avro (the reader uses the same mapping). */
export function avroTypeOfColumn(pgType: string): ColumnType | undefined {
  const numeric = /^numeric\((\d+),(\d+)\)$/.exec(pgType);
  if (numeric) return { type: 'bytes', logicalType: 'decimal', precision: Number(numeric[1]), scale: Number(numeric[2]) };
  if (/^character( varying)?(\(\d+\))?$/.test(pgType)) return { type: 'string' };
  switch (pgType) {
    case 'uuid':
      return { type: 'string', logicalType: 'uuid' };
    case 'text':
      return { type: 'string' };
    case 'smallint':
    case 'integer':
      return { type: 'int' };
    case 'bigint':
      return { type: 'long' };
    case 'boolean':
      return { type: 'boolean' };
    case 'real':
      return { type: 'float' };
    case 'double precision':
      return { type: 'double' };
    case 'bytea':
      return { type: 'bytes' };
    case 'json':
    case 'jsonb':
      return { type: 'string', logicalType: 'json' };
    case 'timestamp with time zone':
    case 'timestamp without time zone':
      return { type: 'long', logicalType: 'timestamp-micros' };
    case 'date':
      return { type: 'int', logicalType: 'date' };
    default:
      // numeric without a typmod has no fixed scale: it cannot be an Avro decimal.
      return undefined;
  }
}

function describe(t: ColumnType): string {
  if (t.logicalType === 'decimal') return `decimal(${t.precision},${t.scale})`;
  return t.logicalType ? `${t.type}/${t.logicalType}` : t.type;
}

function fieldType(type: unknown): { nullable: boolean; base: ColumnType } {
  let nullable = false;
  let node = type;
  if (Array.isArray(node)) {
    nullable = node.includes('null');
    node = node.find((branch) => branch !== 'null');
  }
  if (typeof node === 'string') return { nullable, base: { type: node } };
  const object = node as { type: string; logicalType?: string; precision?: number; scale?: number };
  return {
    nullable,
    base: {
      type: object.type,
      ...(object.logicalType ? { logicalType: object.logicalType } : {}),
      ...(object.precision !== undefined ? { precision: object.precision } : {}),
      ...(object.scale !== undefined ? { scale: object.scale } : {}),
    },
  };
}

/**
 * Compares a table's columns (names, types, nullability) in a database with its row schema.
 * Returns one line per difference, naming the table and the column; empty when they agree.
 */
export async function checkDrift(
  db: Queryable,
  subject: string,
  row: RowSchemaJson,
  schemaFile = `schemas/avro/rows/${subject}.avsc`,
): Promise<string[]> {
  const [schemaName, table] = subject.split('.') as [string, string];
  const { rows: columns } = await db.query<{ name: string; type: string; nullable: boolean }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schemaName, table],
  );
  if (columns.length === 0) return [`${subject}: no such table in the database, but ${schemaFile} describes it`];
  const problems: string[] = [];
  const fields = new Map(row.fields.map((field) => [field.name, field]));
  for (const column of columns) {
    const expected = avroTypeOfColumn(column.type);
    const field = fields.get(column.name);
    const where = `${subject}.${column.name}`;
    if (!field) {
      problems.push(
        `${where}: column in the database (${column.type}${column.nullable ? ', nullable' : ''}) is missing from ${schemaFile}`,
      );
      continue;
    }
    if (!expected) {
      problems.push(
        `${where}: the database type ${column.type} has no Avro mapping; give the column a supported type (numeric needs precision and scale)`,
      );
      continue;
    }
    const actual = fieldType(field.type);
    if (describe(actual.base) !== describe(expected)) {
      problems.push(
        `${where}: database type ${column.type} is carried as ${describe(expected)}, but ${schemaFile} says ${describe(actual.base)}`,
      );
    }
    if (actual.nullable !== column.nullable) {
      problems.push(
        `${where}: the column is ${column.nullable ? 'nullable' : 'NOT NULL'} but ${schemaFile} makes it ${actual.nullable ? 'nullable' : 'required'}` +
          (column.nullable ? ' (use ["null", type] with default null)' : ''),
      );
    }
  }
  const names = new Set(columns.map((column) => column.name));
  for (const field of row.fields) {
    if (!names.has(field.name)) problems.push(`${subject}.${field.name}: field in ${schemaFile} has no column in the database`);
  }
  return problems;
}

import { type ParsedSchema, parseSchema } from './avro';

/**
 * Full transitive compatibility of a subject's current schema with every released version: new
 * readers read old data (backward) and old readers read new data (forward). avsc's resolver decides
 * what Avro's resolution rules allow; the attributes Parsing Canonical Form ignores (logicalType,
 * precision, scale, defaults) are compared here explicitly, because a fingerprint cannot see them.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Node {
  type: string;
  logicalType?: string;
  precision?: number;
  scale?: number;
  symbols?: string[];
}

interface FieldInfo {
  hasDefault: boolean;
  default?: string;
}

interface Shape {
  nodes: Map<string, Node>;
  fields: Map<string, FieldInfo>;
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/** Every typed position of a schema by field path (before.total, source.lsn…), unions of null flattened. */
function shapeOf(schema: Json): Shape {
  const shape: Shape = { nodes: new Map(), fields: new Map() };
  const named = new Map<string, Json>();
  const walk = (node: Json, path: string, namespace: string, stack: Set<string>): void => {
    if (typeof node === 'string') {
      if (PRIMITIVES.has(node)) {
        shape.nodes.set(path, { type: node });
        return;
      }
      const full = node.includes('.') ? node : namespace ? `${namespace}.${node}` : node;
      const target = named.get(full);
      if (target !== undefined && !stack.has(full)) walk(target, path, namespace, stack);
      return;
    }
    if (Array.isArray(node)) {
      for (const branch of node) if (branch !== 'null') walk(branch, path, namespace, stack);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const type = node.type;
    if (typeof type !== 'string') {
      walk(type as Json, path, namespace, stack);
      return;
    }
    if (type === 'record' || type === 'enum' || type === 'fixed') {
      const ns = typeof node.namespace === 'string' ? node.namespace : namespace;
      const name = String(node.name);
      const full = name.includes('.') ? name : ns ? `${ns}.${name}` : name;
      named.set(full, node);
      const inner = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : '';
      if (type === 'record') {
        const next = new Set(stack).add(full);
        for (const field of node.fields as { [key: string]: Json }[]) {
          const fieldPath = path ? `${path}.${field.name}` : String(field.name);
          shape.fields.set(fieldPath, { hasDefault: 'default' in field, default: JSON.stringify(field.default) });
          walk(field.type as Json, fieldPath, inner, next);
        }
        return;
      }
      shape.nodes.set(path, { type, ...(type === 'enum' ? { symbols: node.symbols as string[] } : {}) });
      return;
    }
    if (type === 'array' || type === 'map') {
      walk((type === 'array' ? node.items : node.values) as Json, `${path}${type === 'array' ? '[]' : '{}'}`, namespace, stack);
      return;
    }
    shape.nodes.set(path, {
      type,
      ...(typeof node.logicalType === 'string' ? { logicalType: node.logicalType } : {}),
      ...(typeof node.precision === 'number' ? { precision: node.precision } : {}),
      ...(typeof node.scale === 'number' ? { scale: node.scale } : { ...(node.logicalType === 'decimal' ? { scale: 0 } : {}) }),
    });
  };
  walk(schema, '', '', new Set());
  return shape;
}

function attributeProblems(subject: string, version: number, current: Shape, released: Shape): string[] {
  const problems: string[] = [];
  const at = (path: string) => `${subject}: field ${path}`;
  for (const [path, now] of current.nodes) {
    const then = released.nodes.get(path);
    if (!then) continue;
    if ((now.logicalType ?? '') !== (then.logicalType ?? '')) {
      problems.push(
        `${at(path)}: logicalType changed from ${then.logicalType ?? 'none'} (v${version}) to ${now.logicalType ?? 'none'}; add a new field instead`,
      );
    }
    if (now.logicalType === 'decimal' && then.logicalType === 'decimal') {
      if (now.scale !== then.scale) {
        problems.push(
          `${at(path)}: decimal scale changed from ${then.scale} (v${version}) to ${now.scale}; a scale change needs a new field`,
        );
      }
      if ((now.precision ?? 0) < (then.precision ?? 0)) {
        problems.push(
          `${at(path)}: decimal precision lowered from ${then.precision} (v${version}) to ${now.precision}; old values may not fit`,
        );
      }
    }
    if (now.symbols && then.symbols) {
      const added = now.symbols.filter((s) => !then.symbols?.includes(s));
      const removed = then.symbols.filter((s) => !now.symbols?.includes(s));
      if (added.length > 0)
        problems.push(`${at(path)}: enum symbols ${added.join(', ')} added since v${version}; readers on v${version} cannot read them`);
      if (removed.length > 0)
        problems.push(`${at(path)}: enum symbols ${removed.join(', ')} removed since v${version}; old data still has them`);
    }
  }
  for (const [path, now] of current.fields) {
    const then = released.fields.get(path);
    const parent = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
    const parentExisted = parent === '' || released.fields.has(parent);
    if (!then) {
      if (parentExisted && !now.hasDefault) {
        problems.push(
          `${at(path)}: added without a default; readers of the new schema cannot read v${version} data. Give it a default (null for a nullable column)`,
        );
      }
      continue;
    }
    if (then.hasDefault && now.hasDefault && then.default !== now.default) {
      problems.push(
        `${at(path)}: default changed from ${then.default} (v${version}) to ${now.default}; old and new readers would fill different values`,
      );
    }
  }
  for (const [path, then] of released.fields) {
    if (current.fields.has(path)) continue;
    const parent = path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '';
    if ((parent === '' || current.fields.has(parent)) && !then.hasDefault) {
      problems.push(`${at(path)}: removed, but it had no default in v${version}; readers on v${version} cannot read new data`);
    }
  }
  return problems;
}

function resolution(subject: string, version: number, current: ParsedSchema, released: ParsedSchema): string[] {
  const problems: string[] = [];
  try {
    current.type.createResolver(released.type);
  } catch (error) {
    problems.push(`${subject}: the current schema cannot read v${version} data: ${(error as Error).message}`);
  }
  try {
    released.type.createResolver(current.type);
  } catch (error) {
    problems.push(`${subject}: readers on v${version} cannot read data of the current schema: ${(error as Error).message}`);
  }
  return problems;
}

/** Problems of `current` against each released version of `subject`; empty when fully compatible. */
export function checkCompatibility(subject: string, current: unknown, released: readonly { version: number; json: unknown }[]): string[] {
  const now = parseSchema(current);
  const nowShape = shapeOf(current as Json);
  return released.flatMap((r) => [
    ...resolution(subject, r.version, now, parseSchema(r.json)),
    ...attributeProblems(subject, r.version, nowShape, shapeOf(r.json as Json)),
  ]);
}

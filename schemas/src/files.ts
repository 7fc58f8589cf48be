import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ParsedSchema, parseSchema } from './avro';
import type { RowSchemaJson } from './envelope';
import { transactionSchema } from './transaction';

/**
 * `schemas/avro`: rows (hand-written), envelopes (generated), control (hand-written control records
 * such as the end of a snapshot), released (the compatibility baseline).
 */
export const AVRO_DIR = join(__dirname, '..', 'avro');

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Subjects are `<schema>.<table>`, named after their row file. */
export function listSubjects(dir: string = AVRO_DIR): string[] {
  return readdirSync(join(dir, 'rows'))
    .filter((file) => file.endsWith('.avsc'))
    .map((file) => file.slice(0, -'.avsc'.length))
    .sort();
}

export function readRowSchema(subject: string, dir: string = AVRO_DIR): RowSchemaJson {
  return readJson<RowSchemaJson>(join(dir, 'rows', `${subject}.avsc`));
}

export function envelopeFile(subject: string, dir: string = AVRO_DIR): string {
  return join(dir, 'envelopes', `${subject}.avsc`);
}

/** Released versions of a subject's envelope, oldest first. */
export function readReleased(subject: string, dir: string = AVRO_DIR): { version: number; json: unknown }[] {
  const folder = join(dir, 'released', subject);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .map((file) => /^v(\d+)\.avsc$/.exec(file))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ version: Number(match[1]), json: readJson(join(folder, match[0])) }))
    .sort((a, b) => a.version - b.version);
}

/** Control records (`schemas/avro/control/<name>.avsc`) are released as subject `control.<name>`. */
export const CONTROL_SUBJECT_PREFIX = 'control.';

/** The control records' names, from their files: `snapshot-end`. */
export function listControls(dir: string = AVRO_DIR): string[] {
  const folder = join(dir, 'control');
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((file) => file.endsWith('.avsc'))
    .map((file) => file.slice(0, -'.avsc'.length))
    .sort();
}

export function controlFile(name: string, dir: string = AVRO_DIR): string {
  return join(dir, 'control', `${name}.avsc`);
}

/** Every subject of the contract with the file of its current schema: each table's envelope, each control record. */
export function contractSubjects(dir: string = AVRO_DIR): { subject: string; file: string }[] {
  return [
    ...listSubjects(dir).map((subject) => ({ subject, file: envelopeFile(subject, dir) })),
    ...listControls(dir).map((name) => ({ subject: `${CONTROL_SUBJECT_PREFIX}${name}`, file: controlFile(name, dir) })),
  ];
}

/** The current envelope schema of a subject (the one writers use). */
export function envelopeSchema(subject: string, dir: string = AVRO_DIR): ParsedSchema {
  return parseSchema(readJson(envelopeFile(subject, dir)));
}

/** Every schema a consumer ships with: current envelopes and control records, every released version, the transaction record. */
export function bundledSchemas(dir: string = AVRO_DIR): ParsedSchema[] {
  return [
    ...contractSubjects(dir).flatMap(({ subject, file }) => [
      parseSchema(readJson(file)),
      ...readReleased(subject, dir).map((r) => parseSchema(r.json)),
    ]),
    transactionSchema(),
  ];
}

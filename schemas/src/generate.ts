import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { generateEnvelopeFile, generateTypes } from './codegen';
import { AVRO_DIR, envelopeFile, listSubjects, readRowSchema } from './files';

/** Where the generated TypeScript types live (this file may run from src/ or dist/). */
export const GENERATED_TYPES_FILE = join(__dirname, '..', 'src', 'generated', 'types.ts');

/** Everything `npm run schemas:generate` writes, by path: envelope schemas and TypeScript types. */
export function generatedFiles(dir: string = AVRO_DIR): Map<string, string> {
  const rows = listSubjects(dir).map((subject) => ({ subject, row: readRowSchema(subject, dir) }));
  const files = new Map<string, string>();
  for (const { subject, row } of rows) files.set(envelopeFile(subject, dir), generateEnvelopeFile(subject, row));
  files.set(GENERATED_TYPES_FILE, generateTypes(rows));
  return files;
}

export function writeGeneratedFiles(dir: string = AVRO_DIR): string[] {
  const files = generatedFiles(dir);
  for (const [path, text] of files) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return [...files.keys()];
}

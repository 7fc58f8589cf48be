import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEnvelopeFile } from './codegen';
import { checkCompatibility } from './compat';
import type { RowSchemaJson } from './envelope';
import { AVRO_DIR, controlFile, envelopeFile, readJson, readReleased, readRowSchema } from './files';
import { checkAllSubjects, releaseChanged } from './release';

/** A scratch copy of schemas/avro whose row schema of `subject` is edited, envelopes regenerated. */
function scratchWithRow(subject: string, edit: (row: RowSchemaJson) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'schemas-'));
  cpSync(AVRO_DIR, dir, { recursive: true });
  const row = readRowSchema(subject, dir);
  edit(row);
  writeFileSync(join(dir, 'rows', `${subject}.avsc`), JSON.stringify(row, null, 2));
  writeFileSync(envelopeFile(subject, dir), generateEnvelopeFile(subject, row));
  return dir;
}

describe('schema compatibility check', () => {
  it('passes for the schemas in the repository, the control records among them', () => {
    const reports = checkAllSubjects();
    expect(reports.flatMap((r) => r.problems)).toEqual([]);
    expect(reports.find((r) => r.subject === 'control.snapshot-end')).toMatchObject({ releasedVersions: 1, changed: false });
  });

  it('checks a control record like an envelope: a field added without a default is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'schemas-'));
    cpSync(AVRO_DIR, dir, { recursive: true });
    const schema = readJson<{ fields: unknown[] }>(controlFile('snapshot-end', dir));
    schema.fields.push({ name: 'xmin', type: 'long' });
    writeFileSync(controlFile('snapshot-end', dir), JSON.stringify(schema, null, 2));
    expect(checkAllSubjects(dir).flatMap((r) => r.problems)).toContain(
      'control.snapshot-end: field xmin: added without a default; readers of the new schema cannot read v1 data. Give it a default (null for a nullable column)',
    );
    expect(() => releaseChanged(dir)).toThrow('not released, incompatible');
  });

  it('fails for a field added without a default, naming the schema and the field', () => {
    const dir = scratchWithRow('public.orders', (row) => {
      row.fields.push({ name: 'discount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } });
    });
    const problems = checkAllSubjects(dir).flatMap((r) => r.problems);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('public.orders: field before.discount: added without a default'),
        expect.stringContaining('public.orders: the current schema cannot read v1 data'),
      ]),
    );
    expect(() => releaseChanged(dir)).toThrow(/not released, incompatible/);
  });

  it('fails for a decimal whose scale changed, naming the schema and the field', () => {
    const dir = scratchWithRow('public.opportunities', (row) => {
      const value = row.fields.find((f) => f.name === 'value');
      if (!value) throw new Error('no value field');
      value.type = { type: 'bytes', logicalType: 'decimal', precision: 14, scale: 3 };
    });
    const problems = checkAllSubjects(dir).flatMap((r) => r.problems);
    expect(problems).toContain(
      'public.opportunities: field before.value: decimal scale changed from 2 (v1) to 3; a scale change needs a new field',
    );
  });

  it('fails for a removed field that had no default, and for a changed default', () => {
    const dir = scratchWithRow('public.suppliers', (row) => {
      row.fields = row.fields.filter((f) => f.name !== 'name');
      const email = row.fields.find((f) => f.name === 'email');
      if (email) email.default = 'unknown@example.com';
      if (email) email.type = ['string', 'null'];
    });
    const problems = checkAllSubjects(dir)
      .flatMap((r) => r.problems)
      .join('\n');
    expect(problems).toContain('public.suppliers: field before.name: removed, but it had no default in v1');
    expect(problems).toContain('public.suppliers: field before.email: default changed from null (v1) to "unknown@example.com"');
  });

  it('accepts a nullable column added with a default, and a release then records v2', () => {
    const dir = scratchWithRow('public.customers', (row) => {
      row.fields.push({ name: 'phone', type: ['null', 'string'], default: null });
    });
    const before = readReleased('public.customers', dir).length;
    const report = checkAllSubjects(dir).find((r) => r.subject === 'public.customers');
    expect(report).toMatchObject({ problems: [], changed: true, releasedVersions: before });
    expect(releaseChanged(dir)).toEqual([{ subject: 'public.customers', version: before + 1 }]);
    const released = readReleased('public.customers', dir);
    expect(released.at(-1)?.json).toEqual(readJson(envelopeFile('public.customers', dir)));
    // Transitive: a later change is checked against every released version alike.
    const current = readJson(envelopeFile('public.customers', dir));
    expect(checkCompatibility('public.customers', current, released)).toEqual([]);
    expect(released.length).toBeGreaterThanOrEqual(2);
  });
});

/**
 * `npm run schemas:generate` — envelopes and TypeScript types from schemas/avro/rows.
 * `npm run schemas:check`    — generated files up to date, and every subject fully compatible,
 *                              transitively, with all its released versions. Exit 1 on a problem.
 * `npm run schemas:release`  — record each changed, compatible subject as its next version.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { checkAllSubjects, generatedFiles, releaseChanged, writeGeneratedFiles } from '../src/tooling';

const root = relative(process.cwd(), `${__dirname}/../..`) || '.';
const show = (path: string) => relative(process.cwd(), path) || path;

function check(): number {
  let failures = 0;
  for (const [path, text] of generatedFiles()) {
    let committed = '';
    try {
      committed = readFileSync(path, 'utf8');
    } catch {
      // Missing counts as stale.
    }
    if (committed !== text) {
      failures++;
      process.stdout.write(`stale: ${show(path)} differs from what the row schemas generate: run npm run schemas:generate\n`);
    }
  }
  for (const report of checkAllSubjects()) {
    if (report.problems.length === 0) {
      const note = report.changed ? ' (changed since the last release: run npm run schemas:release when it ships)' : '';
      process.stdout.write(`ok: ${report.subject}, compatible with ${report.releasedVersions} released version(s)${note}\n`);
      continue;
    }
    failures += report.problems.length;
    for (const problem of report.problems) process.stdout.write(`incompatible: ${problem}\n`);
  }
  process.stdout.write(failures === 0 ? 'schemas: all compatible\n' : `schemas: ${failures} problem(s) in ${root}/schemas\n`);
  return failures === 0 ? 0 : 1;
}

const command = process.argv[2];
switch (command) {
  case 'generate':
    for (const path of writeGeneratedFiles()) process.stdout.write(`wrote ${show(path)}\n`);
    break;
  case 'check':
    process.exitCode = check();
    break;
  case 'release': {
    const released = releaseChanged();
    for (const r of released) process.stdout.write(`released ${r.subject} v${r.version}\n`);
    if (released.length === 0) process.stdout.write('nothing changed since the last release\n');
    break;
  }
  default:
    process.stderr.write('usage: schemas.ts generate | check | release\n');
    process.exitCode = 2;
}

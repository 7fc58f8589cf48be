import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalFormWithLogicalTypes } from './canonical';
import { checkCompatibility } from './compat';
import { AVRO_DIR, contractSubjects, readJson, readReleased } from './files';

export interface SubjectReport {
  subject: string;
  releasedVersions: number;
  /** The current schema differs from the latest released one (a release would add a version). */
  changed: boolean;
  problems: string[];
}

/** Compares every subject's current schema (each table's envelope, each control record) with all its released versions. */
export function checkAllSubjects(dir: string = AVRO_DIR): SubjectReport[] {
  return contractSubjects(dir).map(({ subject, file }) => {
    const current = readJson(file);
    const released = readReleased(subject, dir);
    const latest = released.at(-1);
    return {
      subject,
      releasedVersions: released.length,
      changed: !latest || canonicalFormWithLogicalTypes(latest.json) !== canonicalFormWithLogicalTypes(current),
      problems: checkCompatibility(subject, current, released),
    };
  });
}

/** Records the current schema of each changed, compatible subject as its next released version. */
export function releaseChanged(dir: string = AVRO_DIR): { subject: string; version: number }[] {
  const reports = checkAllSubjects(dir);
  const blocked = reports.filter((r) => r.problems.length > 0);
  if (blocked.length > 0) throw new Error(`not released, incompatible:\n${blocked.flatMap((r) => r.problems).join('\n')}`);
  const files = new Map(contractSubjects(dir).map(({ subject, file }) => [subject, file]));
  return reports
    .filter((r) => r.changed)
    .map((r) => {
      const version = r.releasedVersions + 1;
      const folder = join(dir, 'released', r.subject);
      mkdirSync(folder, { recursive: true });
      writeFileSync(join(folder, `v${version}.avsc`), `${JSON.stringify(readJson(files.get(r.subject) as string), null, 2)}\n`);
      return { subject: r.subject, version };
    });
}

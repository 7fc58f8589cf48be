import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..', '..');

/** Test code: tests, their helpers and children, the test harness package and the end-to-end tests. */
function testFiles(): string[] {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((file) => file.endsWith('.ts'));
  // This file's own examples are not connections.
  const self = 'packages/testing/src/pg-listeners.unit.test.ts';
  return files.filter(
    (file) =>
      file !== self &&
      (/\.test\.ts$/.test(file) || file.includes('/__tests__/') || file.startsWith('packages/testing/src/') || file.startsWith('test/')),
  );
}

/**
 * Every `new pg.Pool(…)` / `new pg.Client(…)` whose result is not given an `error` listener in
 * the same file: `<file>:<line>`. An idle client emits `error` when its server goes away (a test
 * that stops a private PostgreSQL, a database dropped at the end); with no listener that event
 * fails whatever test runs at that moment.
 */
export function unguardedConnections(file: string, text: string): string[] {
  const offenders: string[] = [];
  for (const match of text.matchAll(/new\s+(?:pg\.)?(?:Pool|Client)\s*\(/g)) {
    const lineStart = text.lastIndexOf('\n', match.index) + 1;
    const line = text.slice(0, match.index).split('\n').length;
    const assigned = /(?:(?:const|let|var)\s+)?([\w.]+)\s*(?::\s*[\w.<>]+\s*)?=\s*$/.exec(text.slice(lineStart, match.index));
    const name = assigned?.[1]?.replace(/^this\./, 'this.');
    const listened = name !== undefined && new RegExp(`${name.replaceAll('.', '\\.')}\\.on\\(\\s*'error'`).test(text);
    if (!listened) offenders.push(`${file}:${line}`);
  }
  return offenders;
}

describe('test code and idle database connections', () => {
  it('gives every pg pool and client it creates an error listener (or uses testPool / testClient)', () => {
    const offenders = testFiles().flatMap((file) => unguardedConnections(file, readFileSync(join(root, file), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('finds what it looks for', () => {
    expect(unguardedConnections('a.ts', `const admin = new pg.Pool({ max: 2 });\nawait admin.query('SELECT 1');`)).toEqual(['a.ts:1']);
    expect(unguardedConnections('b.ts', `\n  await new pg.Client({ connectionString }).connect();`)).toEqual(['b.ts:2']);
    expect(unguardedConnections('c.ts', `const p = new pg.Pool({});\np.on('error', () => undefined);`)).toEqual([]);
    expect(unguardedConnections('d.ts', `this.client = new Client(config);\nthis.client.on('error', onError);`)).toEqual([]);
  });
});

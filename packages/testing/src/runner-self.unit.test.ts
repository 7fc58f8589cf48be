import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..', '..');

/**
 * The test runner itself: an unhandled rejection or an `error` event without a listener fails
 * the test it happens in (so a missing listener shows as a failure, never as a pass), and the
 * run exits non-zero.
 */
describe('the test runner', () => {
  it('fails a test that leaves a rejection unhandled or an error event unheard', () => {
    const config = {
      rootDir: root,
      testEnvironment: 'node',
      transform: {
        '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
      },
      testMatch: ['<rootDir>/packages/testing/src/__tests__/unhandled.fixture.ts'],
    };
    const run = spawnSync(
      process.execPath,
      [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), '--config', JSON.stringify(config), '--ci'],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, FORCE_COLOR: '0' },
      },
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status).toBe(1);
    expect(output).toMatch(/✕ leaves a promise rejection unhandled/);
    expect(output).toMatch(/✕ emits an error event nobody listens to/);
    expect(output).toMatch(/✓ passes/);
    expect(output).toContain('a rejection nobody handles');
    expect(output).toContain('terminating connection due to administrator command');
    expect(output).toMatch(/Tests:\s+2 failed, 1 passed, 3 total/);
  }, 60_000);
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testNumber } from '@pipeline/testing';
import { describeCounts, runChaos } from './run';
import { FAULT_KINDS } from './schedule';

/**
 * The short chaos run (issue 27; docs/reliability.md): the whole pipeline on a private stack, a
 * fixed seed, every kind of fault at least once in 80 s, then every invariant. The long runs are
 * `npm run chaos`. CHAOS_SEED replays another seed.
 */
describe('the whole pipeline under every kind of fault at once (short chaos run)', () => {
  it('keeps every invariant', async () => {
    const seed = testNumber('CHAOS_SEED', 27);
    const lines: string[] = [];
    const result = await runChaos({
      seed,
      durationMs: 80_000,
      rate: 5,
      quietTimeoutMs: 120_000,
      restartGapMs: 16_000,
      outDir: mkdtempSync(join(tmpdir(), 'chaos-short-')),
      logLevel: 'info',
      say: (line) => lines.push(line),
    });
    const report = [
      `seed ${result.seed}; faults ${describeCounts(result.carriedOut)}; ${result.events} events; quiet after ${result.quietAfterS} s`,
      ...result.invariants.flatMap((i) => (i.violations.length === 0 ? [] : [`${i.name}:`, ...i.violations.map((v) => `  ${v}`)])),
      `result and logs: ${result.dir}`,
      'fault log:',
      ...lines,
    ].join('\n');
    // Every kind of fault happened at least once (a kill may find its target restarting and skip).
    for (const kind of FAULT_KINDS) expect([kind, result.carriedOut[kind] > 0, report]).toEqual([kind, true, report]);
    expect([result.quietAfterS !== null, report]).toEqual([true, report]);
    // The workload exercised what the invariants count: cancels, shipments, restocks.
    expect([Object.values(result.asked).every((n) => n > 0), result.asked]).toEqual([true, result.asked]);
    expect([result.invariants.filter((i) => i.violations.length > 0).map((i) => i.name), report]).toEqual([[], report]);
    expect(result.passed).toBe(true);
  }, 300_000);
});

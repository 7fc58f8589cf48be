import fc from 'fast-check';
import { countByKind, FAULT_KINDS, KILL_GAP_MS, planFaults, RESTART_GAP_MS } from './schedule';

const base = {
  killable: ['cdc-reader', 'cdc-reader-standby', 'order-processor', 'inventory-watcher', 'metrics-projector', 'webhook-dispatcher'],
  pausable: ['order-processor', 'inventory-watcher', 'metrics-projector', 'webhook-dispatcher'],
  sessionTimeoutMs: 6_000,
};

describe('the chaos fault schedule', () => {
  it('is the same for the same seed, and another for another', () => {
    const plan = (seed: number) => planFaults({ ...base, seed, durationMs: 600_000 });
    expect(plan(7)).toEqual(plan(7));
    expect(plan(7)).not.toEqual(plan(8));
  });

  it('for any seed and length: in time order, within the run, every kind at least once, restarts spread, kills every 5–20 s', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 180_000, max: 3_600_000 }), (seed, durationMs) => {
        const faults = planFaults({ ...base, seed, durationMs });
        expect(faults.map((f) => f.atMs)).toEqual([...faults.map((f) => f.atMs)].sort((a, b) => a - b));
        expect(faults.every((f) => f.atMs >= 0 && f.atMs < durationMs)).toBe(true);
        const counts = countByKind(faults);
        for (const kind of FAULT_KINDS) expect([kind, counts[kind] > 0]).toEqual([kind, true]);
        expect(counts['broker-restart']).toBeGreaterThanOrEqual(Math.max(2, Math.ceil(durationMs / 300_000)));
        expect(counts['postgres-restart-fast']).toBeGreaterThanOrEqual(1);
        expect(counts['postgres-restart-immediate']).toBeGreaterThanOrEqual(1);
        const restarts = faults.filter((f) => f.kind === 'broker-restart' || f.kind.startsWith('postgres-restart'));
        for (let i = 1; i < restarts.length; i++) {
          expect((restarts[i]?.atMs ?? 0) - (restarts[i - 1]?.atMs ?? 0)).toBeGreaterThanOrEqual(RESTART_GAP_MS / 2);
        }
        const kills = faults.filter((f) => f.kind === 'kill');
        expect(kills[0]?.atMs).toBeLessThanOrEqual(KILL_GAP_MS.max);
        for (let i = 1; i < kills.length; i++) {
          const gap = (kills[i]?.atMs ?? 0) - (kills[i - 1]?.atMs ?? 0);
          expect(gap >= KILL_GAP_MS.min && gap < KILL_GAP_MS.max).toBe(true);
        }
        expect(faults.filter((f) => f.kind === 'pause').every((f) => f.durationMs > base.sessionTimeoutMs)).toBe(true);
        expect(kills.every((f) => base.killable.includes(f.target))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

import fc from 'fast-check';
import {
  countByKind,
  FAULT_KINDS,
  type Fault,
  KILL_GAP_MS,
  KILLS_PER_TARGET_PER_MINUTE,
  planFaults,
  RESTART_GAP_MS,
  SES_MODES,
  WEBHOOK_MODES,
} from './schedule';

const base = {
  killable: ['cdc-reader', 'cdc-reader-standby', 'order-processor', 'inventory-watcher', 'metrics-projector', 'webhook-dispatcher'],
  pausable: ['order-processor', 'inventory-watcher', 'metrics-projector', 'webhook-dispatcher'],
  sessionTimeoutMs: 6_000,
};

/** The most kills one service gets within any minute. */
function mostKillsInAMinute(faults: readonly Fault[]): number {
  const kills = faults.filter((f) => f.kind === 'kill');
  return Math.max(
    0,
    ...kills.map((k) => kills.filter((o) => o.target === k.target && o.atMs <= k.atMs && o.atMs > k.atMs - 60_000).length),
  );
}

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
        // The supervisor gives a service up after five crashes in a minute: the schedule never gets near.
        expect(mostKillsInAMinute(faults)).toBeLessThanOrEqual(KILLS_PER_TARGET_PER_MINUTE);
      }),
      { numRuns: 200 },
    );
  });

  it('a short run (npm test’s) with a shorter restart gap still has every kind, its restarts spread and inside the run', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 60_000, max: 180_000 }), (seed, durationMs) => {
        const restartGapMs = Math.floor(durationMs / 5);
        const faults = planFaults({ ...base, seed, durationMs, restartGapMs });
        const counts = countByKind(faults);
        for (const kind of FAULT_KINDS) expect([kind, counts[kind] > 0]).toEqual([kind, true]);
        expect(faults.every((f) => f.atMs >= 0 && f.atMs < durationMs)).toBe(true);
        const restarts = faults.filter((f) => f.kind === 'broker-restart' || f.kind.startsWith('postgres-restart'));
        for (let i = 1; i < restarts.length; i++) {
          expect((restarts[i]?.atMs ?? 0) - (restarts[i - 1]?.atMs ?? 0)).toBeGreaterThanOrEqual(restartGapMs / 2);
        }
        expect(mostKillsInAMinute(faults)).toBeLessThanOrEqual(KILLS_PER_TARGET_PER_MINUTE);
        // Throttling, 5xx and a send cut off; 500s, timeouts and a slow period: each at least once.
        expect(new Set(faults.filter((f) => f.kind === 'ses').map((f) => f.target))).toEqual(new Set(SES_MODES));
        expect(new Set(faults.filter((f) => f.kind === 'webhook-flap').map((f) => f.target))).toEqual(new Set(WEBHOOK_MODES));
      }),
      { numRuns: 200 },
    );
  });
});

import { RestartPolicy } from './restart-policy';

describe('RestartPolicy', () => {
  it('restarts after a pause that doubles with each crash in the window, and gives up at the fifth', () => {
    const policy = new RestartPolicy();
    const verdicts = [0, 1_000, 3_000, 7_000, 15_000].map((at) => policy.crashed(at, 1));
    expect(verdicts).toEqual([
      { action: 'restart', delayMs: 500, crashes: 1 },
      { action: 'restart', delayMs: 1_000, crashes: 2 },
      { action: 'restart', delayMs: 2_000, crashes: 3 },
      { action: 'restart', delayMs: 4_000, crashes: 4 },
      { action: 'give-up', crashes: 5, reason: 'it crashed 5 times within 60 s: fix the cause its log shows' },
    ]);
  });

  it('forgets crashes older than the window', () => {
    const policy = new RestartPolicy();
    for (const at of [0, 10_000, 20_000, 30_000]) policy.crashed(at, null);
    // The first two are more than 60 s old by now: this is the third in the window.
    expect(policy.crashed(70_001, null)).toEqual({ action: 'restart', delayMs: 2_000, crashes: 3 });
  });

  it('caps the pause', () => {
    const policy = new RestartPolicy({ maxCrashes: 100, maxDelayMs: 30_000 });
    let last = policy.crashed(0, 1);
    for (let i = 1; i < 20; i++) last = policy.crashed(i, 1);
    expect(last).toEqual({ action: 'restart', delayMs: 30_000, crashes: 20 });
  });

  it('gives up at once on a configuration error', () => {
    expect(new RestartPolicy().crashed(0, 78)).toEqual({
      action: 'give-up',
      crashes: 1,
      reason: 'it stopped on a condition restarting cannot fix (exit code 78): do what its last error line says, then start it again',
    });
  });
});

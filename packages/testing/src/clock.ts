import type { Clock } from '@pipeline/runtime';

interface Sleeper {
  at: number;
  wake: () => void;
}

/**
 * A clock that moves only when the test says so, shared by several schedulers: `sleep` waits for
 * the clock to reach its time. Real work (database I/O) still takes real time, so a test moves
 * the clock, then waits until every scheduler is asleep again before it looks.
 */
export class ManualClock implements Clock {
  private sleepers: Sleeper[] = [];

  constructor(private time: number) {}

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper: Sleeper = {
        at: this.time + ms,
        wake: () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          signal?.removeEventListener('abort', sleeper.wake);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal?.addEventListener('abort', sleeper.wake, { once: true });
    });
  }

  /** How many sleeps are waiting for the clock. */
  get sleeping(): number {
    return this.sleepers.length;
  }

  /** When the earliest sleeper wakes, if any sleeps. */
  get nextWake(): number | undefined {
    return this.sleepers.length === 0 ? undefined : Math.min(...this.sleepers.map((s) => s.at));
  }

  /** Resolves once `count` sleeps wait (real time; fails after `timeoutMs`). */
  async untilSleeping(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.sleepers.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.sleepers.length} of ${count} sleepers after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /**
   * Moves the clock to `to`, stopping at every wake-up on the way: the sleepers due then wake, and
   * the clock waits until `count` sleep again before it moves on. Work that a wake-up starts sees
   * the time of that wake-up.
   */
  async runUntil(to: number, count: number): Promise<void> {
    for (;;) {
      await this.untilSleeping(count);
      const next = this.nextWake;
      if (next === undefined || next > to) break;
      this.time = Math.max(this.time, next);
      for (const sleeper of this.sleepers.filter((s) => s.at <= this.time)) sleeper.wake();
    }
    this.time = Math.max(this.time, to);
  }
}

/**
 * What a supervisor does when a service exits without being asked to: restart it after a pause
 * that doubles with each recent crash, or give up on it when it keeps crashing (the others go on).
 */

export interface RestartPolicyOptions {
  /** This many crashes within `windowMs` stop the service. Default 5. */
  maxCrashes?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** The pause before the first restart; it doubles with each crash in the window. Default 500 ms. */
  firstDelayMs?: number;
  /** Default 30 s. */
  maxDelayMs?: number;
}

export type Verdict = { action: 'restart'; delayMs: number; crashes: number } | { action: 'give-up'; crashes: number; reason: string };

/**
 * sysexits EX_CONFIG, what a service exits with on a bad configuration or another condition
 * restarting cannot fix (a topic that refuses its records, a snapshot that keeps failing the same way).
 */
const EXIT_CONFIG = 78;

export class RestartPolicy {
  private readonly crashes: number[] = [];
  private readonly maxCrashes: number;
  private readonly windowMs: number;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(options: RestartPolicyOptions = {}) {
    this.maxCrashes = options.maxCrashes ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.firstDelayMs = options.firstDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
  }

  /** Judges a crash at `nowMs` (the exit code, or null when a signal ended it). */
  crashed(nowMs: number, code: number | null): Verdict {
    this.crashes.push(nowMs);
    while (this.crashes.length > 0 && (this.crashes[0] as number) <= nowMs - this.windowMs) this.crashes.shift();
    const crashes = this.crashes.length;
    if (code === EXIT_CONFIG) {
      return {
        action: 'give-up',
        crashes,
        reason: 'it stopped on a condition restarting cannot fix (exit code 78): do what its last error line says, then start it again',
      };
    }
    if (crashes >= this.maxCrashes) {
      return {
        action: 'give-up',
        crashes,
        reason: `it crashed ${crashes} times within ${Math.round(this.windowMs / 1000)} s: fix the cause its log shows`,
      };
    }
    return { action: 'restart', delayMs: Math.min(this.maxDelayMs, this.firstDelayMs * 2 ** (crashes - 1)), crashes };
  }
}

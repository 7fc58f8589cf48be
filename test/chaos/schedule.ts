import { seededRandom } from '@pipeline/runtime';

/**
 * The fault schedule of a chaos run (issue 27): drawn from a seed, so a failing run is replayed
 * with the same faults at the same offsets. Pure: the harness carries the faults out.
 */

/** What the harness can break. */
export type FaultKind =
  /** SIGKILL of one service process (the leading reader and its standby included). */
  | 'kill'
  /** SIGSTOP of a consumer for longer than its session timeout, then SIGCONT. */
  | 'pause'
  /** The private broker stopped, then started again. */
  | 'broker-restart'
  /** The private PostgreSQL restarted in fast mode (clients disconnected, a checkpoint first). */
  | 'postgres-restart-fast'
  /** The private PostgreSQL restarted in immediate mode (no checkpoint: crash recovery at start). */
  | 'postgres-restart-immediate'
  /** The reader's walsender ended with pg_terminate_backend. */
  | 'walsender-terminate'
  /** The SES endpoint behind the fault proxy: throttling, 5xx, an answer held while the order-processor is killed. */
  | 'ses'
  /** A webhook receiver that flaps: 500s, timeouts, a slow period. */
  | 'webhook-flap';

export const FAULT_KINDS: readonly FaultKind[] = [
  'kill',
  'pause',
  'broker-restart',
  'postgres-restart-fast',
  'postgres-restart-immediate',
  'walsender-terminate',
  'ses',
  'webhook-flap',
];

export interface Fault {
  /** When, ms from the start of the run. */
  atMs: number;
  kind: FaultKind;
  /** The service a kill or a pause is aimed at; the mode of an SES or webhook fault. */
  target: string;
  /** How long the fault lasts (a pause, a broker or SES outage, a flapping period), ms; 0 when it is instant. */
  durationMs: number;
}

export interface ScheduleOptions {
  seed: number;
  /** Length of the faulty part of the run, ms (faults stop this long after the start). */
  durationMs: number;
  /** Services a kill may hit (the standby reader as its own name). */
  killable: readonly string[];
  /** Consumers a pause may hit. */
  pausable: readonly string[];
  /** Longer than the consumers' session timeout, ms: how long a pause lasts at least. */
  sessionTimeoutMs: number;
  /** Server restarts are this far apart at least, ms. Default RESTART_GAP_MS; a short run (npm test's) takes less. */
  restartGapMs?: number;
}

/** Kills come every 5–20 s (issue 27). */
export const KILL_GAP_MS = { min: 5_000, max: 20_000 } as const;
/** Server restarts (broker, PostgreSQL) are this far apart at least, so each one's recovery is seen. */
export const RESTART_GAP_MS = 45_000;
/**
 * At most this many kills of one service within a minute: the supervisor gives a service up after
 * five crashes in a minute, and the SES fault may kill the order-processor once more.
 */
export const KILLS_PER_TARGET_PER_MINUTE = 3;

export const SES_MODES = ['throttle-burst', 'server-errors', 'hold-and-kill'] as const;
export const WEBHOOK_MODES = ['server-errors', 'timeouts', 'slow'] as const;

/**
 * The faults of one run, in time order. Kills every 5–20 s; the broker restarted at least twice per
 * 10 minutes (and at least twice in any run); PostgreSQL restarted fast and immediate at least once
 * each; every other kind at least once. Server restarts are spread so they never overlap and leave
 * time for recovery; everything else is placed at random in between.
 */
export function planFaults(options: ScheduleOptions): Fault[] {
  const random = seededRandom(options.seed);
  const between = (min: number, max: number) => Math.floor(min + random() * (max - min));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const faults: Fault[] = [];

  for (let at = between(KILL_GAP_MS.min, KILL_GAP_MS.max); at < options.durationMs; at += between(KILL_GAP_MS.min, KILL_GAP_MS.max)) {
    const recent = (target: string) => faults.filter((f) => f.target === target && f.atMs > at - 60_000).length;
    const allowed = options.killable.filter((target) => recent(target) < KILLS_PER_TARGET_PER_MINUTE);
    faults.push({ atMs: at, kind: 'kill', target: pick(allowed.length > 0 ? allowed : options.killable), durationMs: 0 });
  }

  // Server restarts: in slots RESTART_GAP_MS apart, in a shuffled order.
  const brokerRestarts = Math.max(2, Math.ceil((options.durationMs / 600_000) * 2));
  const restarts: FaultKind[] = [
    ...Array.from({ length: brokerRestarts }, () => 'broker-restart' as const),
    'postgres-restart-fast',
    'postgres-restart-immediate',
  ];
  for (let i = restarts.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [restarts[i], restarts[j]] = [restarts[j] as FaultKind, restarts[i] as FaultKind];
  }
  const slot = Math.max(options.restartGapMs ?? RESTART_GAP_MS, Math.floor(options.durationMs / (restarts.length + 1)));
  restarts.forEach((kind, i) => {
    const atMs = Math.min(options.durationMs - 1, slot * (i + 1) + between(-slot / 4, slot / 4));
    faults.push({
      atMs,
      kind,
      target: kind.startsWith('postgres') ? 'postgres' : 'kafka',
      durationMs: kind === 'broker-restart' ? between(3_000, 15_000) : 0,
    });
  });

  const anywhere = () => between(1_000, options.durationMs - 1);
  const others = Math.max(1, Math.round(options.durationMs / 120_000));
  for (let i = 0; i < others; i++) {
    faults.push({
      atMs: anywhere(),
      kind: 'pause',
      target: pick(options.pausable),
      durationMs: options.sessionTimeoutMs + between(1_000, 10_000),
    });
    faults.push({ atMs: anywhere(), kind: 'walsender-terminate', target: 'cdc-reader', durationMs: 0 });
  }
  // Every SES and webhook mode at least once, in turn from a random first one.
  const sesFirst = Math.floor(random() * SES_MODES.length);
  for (let i = 0; i < Math.max(others, SES_MODES.length); i++) {
    const target = SES_MODES[(sesFirst + i) % SES_MODES.length] as string;
    faults.push({ atMs: anywhere(), kind: 'ses', target, durationMs: between(2_000, 15_000) });
  }
  const webhookFirst = Math.floor(random() * WEBHOOK_MODES.length);
  for (let i = 0; i < Math.max(others, WEBHOOK_MODES.length); i++) {
    const target = WEBHOOK_MODES[(webhookFirst + i) % WEBHOOK_MODES.length] as string;
    faults.push({ atMs: anywhere(), kind: 'webhook-flap', target, durationMs: between(5_000, 30_000) });
  }
  return faults.sort((a, b) => a.atMs - b.atMs || a.kind.localeCompare(b.kind));
}

/** Faults per kind: what a run's summary and docs/reliability.md report. */
export function countByKind(faults: readonly Fault[]): Record<FaultKind, number> {
  const counts = Object.fromEntries(FAULT_KINDS.map((kind) => [kind, 0])) as Record<FaultKind, number>;
  for (const fault of faults) counts[fault.kind]++;
  return counts;
}

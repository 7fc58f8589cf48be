import { firstOf, type Invariant } from './observation';

/** No open dead letter anywhere, except `EFFECT_UNRECORDED` (a send cut off by a kill, for a person); no webhook delivery dead or still pending. */
export const noDeadLetters: Invariant = {
  name: 'no dead letters',
  async check(observation) {
    const violations = observation.letters
      .filter((letter) => letter.code !== 'EFFECT_UNRECORDED')
      .map((letter) => `${letter.topic}: ${letter.code}: ${letter.message.slice(0, 240)} (event ${letter.eventId ?? '?'})`);
    const { rows } = await observation.pool.query<{ status: string; n: number; error: string | null }>(
      `SELECT status, count(*)::int AS n, max(last_error) AS error FROM webhook_deliveries WHERE status <> 'delivered' GROUP BY status`,
    );
    for (const row of rows)
      violations.push(`${row.n} webhook deliveries ${row.status}${row.error ? ` (last error: ${row.error.slice(0, 160)})` : ''}`);
    return firstOf(violations);
  },
};

/** pino's number for a level, or the number as given (the supervisor writes numbers, the services names). */
const LEVEL: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };
const levelOf = (level: unknown): number => (typeof level === 'number' ? level : (LEVEL[String(level)] ?? 0));

/** No fatal line and no unhandled rejection or exception in any service's log. */
export const noFatalLines: Invariant = {
  name: 'no fatal lines',
  check(observation) {
    const violations = observation.lines
      .filter((line) => line.service !== 'pipeline' && (levelOf(line.level) >= 60 || /unhandled|uncaught/i.test(line.msg)))
      .map((line) => `${line.service}: ${line.msg.slice(0, 240)}`);
    return firstOf(violations);
  },
};

/**
 * No service ended but by the harness's SIGKILL: each exit the supervisor reports is a kill of that
 * service's process, and the supervisor gave up on none.
 */
export const onlyScheduledExits: Invariant = {
  name: 'only scheduled exits',
  check(observation) {
    const killedPids = new Set(observation.killed.map((k) => k.pid));
    const pids = new Map<string, number>();
    const violations: string[] = [];
    for (const [index, line] of observation.lines.entries()) {
      if (line.service !== 'pipeline') continue;
      const target = typeof line.target === 'string' ? line.target : undefined;
      if (!target) continue;
      if (/ started as pid /.test(line.msg) && typeof line.pid === 'number') pids.set(target, line.pid);
      const exited = / exited \(([^)]+)\)/.exec(line.msg)?.[1];
      if (!exited) continue;
      const pid = pids.get(target);
      if (!(exited === 'signal SIGKILL' && pid !== undefined && killedPids.has(pid))) {
        const last = observation.lines
          .slice(Math.max(0, index - 2_000), index)
          .reverse()
          .find((l) => l.service === target && levelOf(l.level) >= 50 && l.component !== 'kafkajs');
        violations.push(
          `${target} (pid ${pid ?? '?'}) exited with ${exited} unasked${last ? `; its last error: ${last.msg.slice(0, 200)}` : ''}`,
        );
      }
      if (/is not restarted/.test(line.msg)) violations.push(`the supervisor gave up on ${target}: ${line.msg.slice(0, 200)}`);
    }
    return firstOf(violations);
  },
};

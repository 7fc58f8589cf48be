import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePool, type Pool } from '@pipeline/db';
import { makeStack, stackEndpoints } from '@pipeline/stack';
import { SesFaultProxy, testKafka } from '@pipeline/testing';
import { addSubscription, SecretBox, type SubscriptionFilter } from '@pipeline/webhooks';
import type { Kafka } from 'kafkajs';
import { PipelineRun } from '../../packages/cli/src/__tests__/pipeline-run';
import { localWebhookSecretsKey } from '../../packages/cli/src/local-secrets';
import { SERVICES, STANDBY_READER } from '../../packages/cli/src/services';
import { installAuditTrigger } from '../../services/metrics-projector/src/__tests__/workload';
import { createWitnessSlot } from './capture';
import { FaultRunner } from './faults';
import { checkInvariants } from './invariants';
import { type Subscribed, unrecordedOrders } from './invariants/observation';
import { observe } from './observe';
import { CONSUMERS, untilQuiet, untilReady } from './quiet';
import { ChaosReceiver } from './receiver';
import { countByKind, FAULT_KINDS, type Fault, type FaultKind, planFaults } from './schedule';
import { CHAOS_ACTIONS_DDL, ChaosWorkload } from './workload';

export interface ChaosOptions {
  seed: number;
  /** Length of the faulty part (the workload runs as long), ms. */
  durationMs: number;
  /** The workload's actions per second. */
  rate: number;
  /** How long the pipeline gets to become quiet after the last fault, ms. */
  quietTimeoutMs: number;
  /** Where the result and the fault log are written. */
  outDir: string;
  /** The services' LOG_LEVEL. */
  logLevel: string;
  /** Server restarts are at least this far apart, ms (the schedule's default for long runs). */
  restartGapMs?: number;
  /** Extra environment for every service (a `--require` of breaking switches, say). */
  serviceEnv?: Record<string, string>;
  say: (line: string) => void;
}

export interface ChaosResult {
  seed: number;
  minutes: number;
  /** Faults planned, by kind. */
  faults: Record<FaultKind, number>;
  /** Faults carried out, by kind. */
  carriedOut: Record<FaultKind, number>;
  /** Faults that did not happen, and why. */
  skippedFaults: string[];
  /** Distinct events captured during the run. */
  events: number;
  transactions: number;
  orders: number;
  /** Orders whose email send was cut off between SES and the ledger (an EFFECT_UNRECORDED letter each). */
  sendsCutOff: number;
  /** Orders the workload cancelled and shipped, items it restocked. */
  asked: { cancel: number; ship: number; restock: number };
  workloadSteps: number;
  workloadFailures: number;
  /** Why workload actions failed (PostgreSQL restarting), by message. */
  workloadFailureKinds: Record<string, number>;
  /** From the end of the last fault until the pipeline was quiet, s; null when it never was. */
  quietAfterS: number | null;
  invariants: { name: string; violations: string[] }[];
  passed: boolean;
  dir: string;
}

const SESSION_TIMEOUT_MS = 6_000;
const READER_DLQ_TOPIC = '_pipeline.cdc.dlq';

/** Settings that keep every recovery within the run: short retry ladders, short webhook backoff, quick failover. */
function chaosEnv(options: ChaosOptions): Record<string, string> {
  return {
    LOG_LEVEL: options.logLevel,
    CONSUMER_SESSION_TIMEOUT_MS: String(SESSION_TIMEOUT_MS),
    HANDLER_TIMEOUT_MS: '5000',
    SES_REQUEST_TIMEOUT_MS: '3000',
    RETRY_DELAYS_MS: '1000,3000,8000,20000',
    WEBHOOK_RESPONSE_TIMEOUT_MS: '2000',
    WEBHOOK_BACKOFF_BASE_MS: '200',
    WEBHOOK_BACKOFF_MAX_MS: '3000',
    WEBHOOK_MAX_ATTEMPTS: '1000',
    CDC_STANDBY_POLL_MS: '500',
    // The slot's confirmed position follows the WAL within a second or two once nothing is captured: how quiet is told.
    CDC_HEARTBEAT_INTERVAL_MS: '1000',
    ...options.serviceEnv,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One chaos run (issue 27): `pipeline start` with a standby reader on a private stack, the workload
 * at a steady rate, the seed's faults, then — once the pipeline is quiet — every invariant.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const { say } = options;
  const run = new PipelineRun('chaos-');
  await run.init();
  const dir = options.outDir;
  mkdirSync(dir, { recursive: true });
  const proxy = await new SesFaultProxy(`http://127.0.0.1:${run.config.ses.port}`).start();
  const receivers = [await new ChaosReceiver('orders').start(), await new ChaosReceiver('opportunities').start()];
  let pool: Pool | undefined;
  let kafka: Kafka | undefined;
  try {
    const env = await run.env({ ...chaosEnv(options), SES_ENDPOINT: proxy.endpoint });
    say(`chaos: seed ${options.seed}, ${options.durationMs / 60_000} min, stack and logs in ${run.dir}`);
    // The stack first, its own SES endpoint included: \`pipeline start\` then takes the proxy in front of it as SES_ENDPOINT.
    await makeStack(run.config).up((r) => say(`chaos: ${r.name} started in ${(r.tookMs / 1000).toFixed(1)} s`));
    const exited = run.start(env, ['--no-demo', '--status-every', '0', '--standby-reader']);
    void exited.then(() => say('chaos: `pipeline start` exited'));
    await untilReady(run);
    const endpoints = stackEndpoints(run.config);
    pool = makePool({ connectionString: endpoints.databaseUrl, applicationName: 'chaos', max: 4 }, () => undefined);
    const subscriptions = await prepare(pool, run, receivers);

    const runId = randomBytes(3).toString('hex');
    const workload = new ChaosWorkload(pool, runId, options.seed);
    await workload.setUp();
    const faults = planFaults({
      seed: options.seed,
      durationMs: options.durationMs,
      killable: [...SERVICES.map((s) => s.name), STANDBY_READER],
      pausable: CONSUMERS,
      sessionTimeoutMs: SESSION_TIMEOUT_MS,
      ...(options.restartGapMs ? { restartGapMs: options.restartGapMs } : {}),
    });
    say(`chaos: ${faults.length} faults planned (${describeCounts(countByKind(faults))}); workload ${options.rate}/s, run ${runId}`);
    const startedAt = Date.now();
    const runner = new FaultRunner(
      { config: run.config, pool, proxy, receivers, pidOf: (service) => pidOf(run, service), slot: 'pipeline_cdc' },
      startedAt,
      (line) => say(line),
    );
    await Promise.all([drive(workload, options, startedAt, say), inject(runner, faults, startedAt)]);
    say('chaos: last fault started; waiting for every server to be back');
    await runner.settle();
    const lastFaultEndedAt = Date.now();
    writeFileSync(
      join(dir, 'faults.log'),
      `${runner.log.map((f) => `${f.atS.toFixed(1)}\t${f.kind}\t${f.target}\t${f.detail}`).join('\n')}\n`,
    );

    kafka = testKafka('chaos', endpoints.kafkaBrokers);
    const quietAt = await untilQuiet(pool, kafka, options.quietTimeoutMs, say);
    const quietAfterS = quietAt === undefined ? null : Math.round((quietAt - lastFaultEndedAt) / 100) / 10;
    say(
      quietAt === undefined
        ? 'chaos: the pipeline never became quiet; checking anyway'
        : `chaos: quiet ${quietAfterS} s after the last fault`,
    );

    const observation = await observe({
      pool,
      kafka,
      sesEndpoint: endpoints.sesEndpoint,
      workload,
      subscriptions,
      lines: run.lines,
      killed: runner.killed,
      readerDlqTopic: READER_DLQ_TOPIC,
    });
    const invariants = await checkInvariants(observation);
    const result: ChaosResult = {
      seed: options.seed,
      minutes: options.durationMs / 60_000,
      faults: countByKind(faults),
      carriedOut: Object.fromEntries(FAULT_KINDS.map((kind) => [kind, runner.carriedOut.get(kind) ?? 0])) as Record<FaultKind, number>,
      skippedFaults: runner.log.filter((entry) => isSkipped(entry.detail)).map((entry) => `${entry.kind} ${entry.target}: ${entry.detail}`),
      events: new Set(observation.events.map((e) => e.change.eventId)).size,
      transactions: observation.witnessed.length,
      orders: observation.orders.length,
      sendsCutOff: unrecordedOrders(observation.letters).size,
      asked: {
        cancel: observation.actions.filter((a) => a.kind === 'cancel').length,
        ship: observation.actions.filter((a) => a.kind === 'ship').length,
        restock: observation.actions.filter((a) => a.kind === 'restock').length,
      },
      workloadSteps: workload.steps,
      workloadFailures: [...workload.failures.values()].reduce((a, b) => a + b, 0),
      workloadFailureKinds: Object.fromEntries(workload.failures),
      quietAfterS,
      invariants,
      passed: quietAt !== undefined && invariants.every((i) => i.violations.length === 0),
      dir,
    };
    writeFileSync(join(dir, 'result.json'), `${JSON.stringify({ ...result, faultLog: runner.log }, null, 2)}\n`);
    writeFileSync(join(dir, 'services.log'), `${run.lines.map((line) => JSON.stringify(line)).join('\n')}\n`);
    return result;
  } finally {
    await run.interrupt().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await run.destroy().catch(() => undefined);
    await proxy.stop();
    for (const receiver of receivers) await receiver.stop();
  }
}

/** A fault that did not happen (its target was down, or no send came to hold). */
function isSkipped(detail: string): boolean {
  return /skipped|failed to carry out|nothing cut off/.test(detail);
}

export function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([kind, n]) => `${kind} ${n}`)
    .join(', ');
}

/** The process `pipeline start`'s supervisor last started for `service`, if it is alive. */
function pidOf(run: PipelineRun, service: string): number | undefined {
  for (let i = run.lines.length - 1; i >= 0; i--) {
    const line = run.lines[i];
    if (line?.service === 'pipeline' && line.target === service && typeof line.pid === 'number' && / started as pid /.test(line.msg)) {
      try {
        process.kill(line.pid, 0);
        return line.pid;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The harness's tables and slot, and two webhook subscriptions: order status changes, and every opportunity change. */
async function prepare(pool: Pool, run: PipelineRun, receivers: ChaosReceiver[]): Promise<Subscribed[]> {
  await pool.query(CHAOS_ACTIONS_DDL);
  await installAuditTrigger({ pool } as Parameters<typeof installAuditTrigger>[0]);
  await createWitnessSlot(pool);
  const box = new SecretBox(localWebhookSecretsKey(run.dir));
  const filters: SubscriptionFilter[] = [
    { tables: ['public.orders'], operations: ['UPDATE'], changedColumns: ['status'] },
    { tables: ['public.opportunities'], operations: [], changedColumns: [] },
  ];
  const subscribed: Subscribed[] = [];
  for (const [i, receiver] of receivers.entries()) {
    const filter = filters[i] as SubscriptionFilter;
    const { id, secret } = await addSubscription(
      pool,
      box,
      { name: `chaos-${receiver.name}`, url: receiver.url, ...filter },
      { allowPrivate: true },
    );
    receiver.secret = secret;
    subscribed.push({ receiver, subscriptionId: id, filter });
  }
  return subscribed;
}

/** The workload at `rate` until the run's length has passed, paced against the start. */
async function drive(workload: ChaosWorkload, options: ChaosOptions, startedAt: number, say: (line: string) => void): Promise<void> {
  let done = 0;
  let lastSaid = startedAt;
  while (Date.now() - startedAt < options.durationMs) {
    await workload.act();
    done++;
    const due = startedAt + (done / options.rate) * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    if (Date.now() - lastSaid >= 30_000) {
      lastSaid = Date.now();
      const failed = [...workload.failures.values()].reduce((a, b) => a + b, 0);
      const why = [...workload.failures].sort((a, b) => b[1] - a[1])[0]?.[0];
      say(`chaos: ${Math.round((Date.now() - startedAt) / 1000)} s, ${done} actions (${failed} failed${why ? `, most: ${why}` : ''})`);
    }
  }
}

/** Each fault at its offset from the start. */
async function inject(runner: FaultRunner, faults: readonly Fault[], startedAt: number): Promise<void> {
  for (const fault of faults) {
    const wait = startedAt + fault.atMs - Date.now();
    if (wait > 0) await sleep(wait);
    await runner.run(fault);
  }
}

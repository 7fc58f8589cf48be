/**
 * A consumer service in miniature on the kit, run as a child process through the real main()
 * (config, /metrics, /readyz, SIGTERM, job mode). Its handler for public.orders inserts one
 * `tasks` row of type SERVICE titled with the order id, through processOnce; with
 * INVENTORY_HANDLER=1 it also handles public.inventory (title `inventory:<id>`). Test behaviour
 * comes from the environment:
 * SLOW_EVENT/SLOW_MS (that event's handler takes SLOW_MS), HANG_EVENT (that handler never returns
 * and ignores its abort signal), FAIL_FIRST_EVENT (its first attempt fails, retriable),
 * POISON_EVENTS (comma-separated: these fail every time, not retriable, straight to the DLQ),
 * FAILING_EVENTS (comma-separated: these fail every time, retriable, so they climb the retry ladder),
 * JOB_NAME (a job on JOB_CRON in JOB_TZ that inserts a task `job:<trigger>`; JOB_FAIL=1 makes it throw),
 * EFFECT_LOG (a file: before its task, each order "sends" a confirmation through the effects
 * ledger, policy stop, by appending its id to the file; with KILL_AFTER_PERFORM=1 the process
 * SIGKILLs itself right after the first send of each order, before the ledger records it).
 * Prints `handling <eventId>` when a handler starts.
 */

import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import {
  type ChangeContext,
  type ConsumerServiceConfig,
  consumerServiceEnvSchema,
  type JobSpec,
  startConsumerService,
} from '@pipeline/kit';
import { main, PipelineError } from '@pipeline/runtime';

const env = process.env;
const service = env.SERVICE as string;

async function handle(id: string, ctx: ChangeContext<ConsumerServiceConfig>) {
  process.stdout.write(`handling ${ctx.eventId}\n`);
  if (ctx.eventId === env.HANG_EVENT) await new Promise(() => undefined);
  if (ctx.eventId === env.SLOW_EVENT) await new Promise((resolve) => setTimeout(resolve, Number(env.SLOW_MS)));
  if ((env.POISON_EVENTS ?? '').split(',').includes(ctx.eventId)) {
    throw new PipelineError(`order ${id} cannot be confirmed: its customer is unknown`, { code: 'ORDER_INVALID', retriable: false });
  }
  if ((env.FAILING_EVENTS ?? '').split(',').includes(ctx.eventId)) {
    throw new PipelineError(`the warehouse API keeps failing for order ${id}`, { code: 'WAREHOUSE_DOWN', retriable: true });
  }
  if (ctx.eventId === env.FAIL_FIRST_EVENT && ctx.attempt === 1) {
    throw new PipelineError('first attempt fails', { code: 'ONCE', retriable: true });
  }
  if (env.EFFECT_LOG) await sendConfirmation(id, ctx, env.EFFECT_LOG);
  const done = await ctx.processOnce(async (client) => {
    await client.query('INSERT INTO tasks (type, title) VALUES ($1, $2)', [service, id]);
  });
  return done.status;
}

/** An external effect whose every performance leaves a line in `log`. */
async function sendConfirmation(id: string, ctx: ChangeContext<ConsumerServiceConfig>, log: string): Promise<void> {
  await ctx.performEffect({ key: `order:${id}`, effect: 'confirmation-email', policy: 'stop' }, async () => {
    const sentBefore = existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((line) => line === id).length
      : 0;
    appendFileSync(log, `${id}\n`);
    if (env.KILL_AFTER_PERFORM === '1' && sentBefore === 0) process.kill(process.pid, 'SIGKILL');
    return { providerRef: `sent-${id}-${sentBefore + 1}` };
  });
}

const jobs: JobSpec[] = env.JOB_NAME
  ? [
      {
        name: env.JOB_NAME,
        cron: env.JOB_CRON ?? '0 8 * * *',
        timeZone: env.JOB_TZ ?? 'UTC',
        run: async ({ pool, trigger }) => {
          if (env.JOB_FAIL === '1') throw new PipelineError('the job was told to fail', { code: 'JOB_TOLD_TO_FAIL', retriable: true });
          await pool.query('INSERT INTO tasks (type, title) VALUES ($1, $2)', [service, `job:${trigger}`]);
          return { items: 1, details: { said: 'hello' } };
        },
      },
    ]
  : [];

void main({
  name: service,
  configSchema: consumerServiceEnvSchema({ httpPort: 9199 }),
  start: (context) =>
    startConsumerService(context, {
      service,
      handlers: {
        'public.orders': (change, ctx) => handle(change.after?.id ?? change.eventId, ctx),
        ...(env.INVENTORY_HANDLER === '1'
          ? { 'public.inventory': (change, ctx) => handle(`inventory:${change.after?.id ?? change.before?.id}`, ctx) }
          : {}),
      },
      jobs,
    }),
});

/**
 * A consumer service in miniature, run as a child process through the real main() (config,
 * /metrics, SIGTERM handling) and startConsumerService: each order change inserts one task
 * through processOnce. Test behaviour comes from the environment:
 * SLOW_EVENT/SLOW_MS (that event's handler takes SLOW_MS), HANG_EVENT (that handler never returns
 * and ignores its abort signal), FAIL_FIRST_EVENT (its first attempt fails, retriable),
 * POISON_EVENTS (comma-separated: these fail every time, not retriable, straight to the DLQ).
 * Prints `handling <eventId>` when a handler starts.
 */
import { processOnce } from '@pipeline/db';
import { checkConsumerEnv, checkKafkaEnv } from '@pipeline/kafka';
import { main, PipelineError } from '@pipeline/runtime';
import type { OrdersRow } from '@pipeline/schemas';
import { startConsumerService } from '../consumer-service';
import { consumerServiceEnvSchema } from '../env';

const env = process.env;
const service = env.SERVICE as string;

void main({
  name: service,
  configSchema: consumerServiceEnvSchema({ httpPort: 9199 }).superRefine(checkKafkaEnv).superRefine(checkConsumerEnv),
  start: (context) =>
    startConsumerService<OrdersRow>(context, {
      service,
      topics: [env.TOPIC as string],
      handle: async ({ envelope }, { eventId, attempt, pool }) => {
        process.stdout.write(`handling ${eventId}\n`);
        if (eventId === env.HANG_EVENT) await new Promise(() => undefined);
        if (eventId === env.SLOW_EVENT) await new Promise((resolve) => setTimeout(resolve, Number(env.SLOW_MS)));
        if ((env.POISON_EVENTS ?? '').split(',').includes(eventId)) {
          throw new PipelineError(`order ${envelope.after?.id} cannot be confirmed: its customer is unknown`, {
            code: 'ORDER_INVALID',
            retriable: false,
          });
        }
        if (eventId === env.FAIL_FIRST_EVENT && attempt === 1) {
          throw new PipelineError('first attempt fails', { code: 'ONCE', retriable: true });
        }
        const done = await processOnce(pool, service, eventId, async (client) => {
          await client.query('INSERT INTO tasks (type, title) VALUES ($1, $2)', [service, envelope.after?.id ?? eventId]);
        });
        return done.status;
      },
    }),
});

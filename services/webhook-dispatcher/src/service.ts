import { type StartedConsumerService, startConsumerService } from '@pipeline/kit';
import type { ServiceContext } from '@pipeline/runtime';
import { listSubjects } from '@pipeline/schemas';
import { SecretBox } from '@pipeline/webhooks';
import { type Config, SERVICE } from './config';
import { Dispatcher } from './dispatcher';
import { queueHandler } from './handler';
import { dispatcherMetrics } from './metrics';

/**
 * webhook-dispatcher: every captured table's changes are matched against the active
 * subscriptions and queued in PostgreSQL (with the processed-event row); the dispatcher sends
 * the queue, signed, retried per endpoint, in commit order per row.
 */
export async function start(context: ServiceContext<Config>): Promise<StartedConsumerService> {
  const handler = queueHandler();
  const started = await startConsumerService(context, {
    service: SERVICE,
    handlers: Object.fromEntries(listSubjects().map((subject) => [subject, handler])),
    // A row's deliveries go out in the order they are queued: a change that met the database away
    // waits in place (the chaos run saw one take the retry ladder and be delivered after the row's next change).
    ordered: true,
  });
  if (context.task) return started;
  const dispatcher = new Dispatcher({
    pool: started.backends.pool,
    config: context.config,
    box: new SecretBox(context.config.WEBHOOK_SECRETS_KEY),
    logger: context.logger,
    metrics: dispatcherMetrics(context.registry, started.backends.pool, context.logger),
  });
  dispatcher.start();
  return {
    ...started,
    stop: async () => {
      await dispatcher.stop();
      await started.stop();
    },
  };
}

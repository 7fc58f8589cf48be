import { type StartedConsumerService, startConsumerService } from '@pipeline/kit';
import type { ServiceContext } from '@pipeline/runtime';
import { type Applied, applyChange } from './apply';
import { applyChanges } from './apply-batch';
import { type Config, SERVICE } from './config';
import { projectorMetrics } from './metrics';

/**
 * metrics-projector: opportunity changes into sales metrics per owner (and per month of close),
 * pipeline value per stage and stage transitions, exactly once: each change and the projection's
 * Kafka position commit in one transaction (applyWithCheckpoint).
 */
export function start(context: ServiceContext<Config>): Promise<StartedConsumerService> {
  const { config } = context;
  const metrics = projectorMetrics(context.registry);
  metrics.init(config.PROJECTION_NAME);
  return startConsumerService(context, {
    service: SERVICE,
    handlers: {
      'public.opportunities': async (change, ctx) => {
        let applied: Applied | undefined;
        const result = await ctx.applyWithCheckpoint(config.PROJECTION_NAME, async (client) => {
          applied = await applyChange(client, change, ctx.source.partition);
        });
        metrics.events.inc({ projection: config.PROJECTION_NAME, result: result === 'skipped' ? 'skipped' : (applied ?? 'unchanged') });
        return result;
      },
    },
    batchHandlers: {
      'public.opportunities': async (items, ctx) => {
        let applied: Applied[] = [];
        const results = await ctx.applyBatchWithCheckpoint(config.PROJECTION_NAME, items, async (client, fresh) => {
          applied = await applyChanges(
            client,
            fresh.map((item) => item.change),
            ctx.partition,
          );
        });
        metrics.events.inc({ projection: config.PROJECTION_NAME, result: 'skipped' }, results.filter((r) => r === 'skipped').length);
        for (const result of applied) metrics.events.inc({ projection: config.PROJECTION_NAME, result });
        return results;
      },
    },
  });
}

import { connectBackends, startConsumerService } from '@pipeline/kit';
import { PipelineError, type ServiceContext, type StartedService } from '@pipeline/runtime';
import { type Applied, applyChange, applySnapshotEnd } from './apply';
import { applyChanges } from './apply-batch';
import { type Config, SERVICE } from './config';
import { positionMetrics, projectorMetrics, rebuildMetrics } from './metrics';
import { rebuildProjection } from './rebuild/rebuild';

/**
 * metrics-projector: opportunity changes into sales metrics per owner (and per month of close),
 * pipeline value per stage and stage transitions, exactly once: each change and the projection's
 * Kafka position commit in one transaction (applyWithCheckpoint).
 */
export async function start(context: ServiceContext<Config>): Promise<StartedService> {
  const { config } = context;
  if (context.task?.name === 'rebuild') return startRebuild(context);
  const metrics = projectorMetrics(context.registry);
  metrics.init(config.PROJECTION_NAME);
  const started = await startConsumerService(context, {
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
    snapshotEndHandlers: {
      'public.opportunities': async (end, ctx) => {
        let dropped = 0;
        const result = await ctx.applyWithCheckpoint(config.PROJECTION_NAME, async (client) => {
          dropped = (await applySnapshotEnd(client, end, ctx.source.partition)).length;
        });
        metrics.events.inc({ projection: config.PROJECTION_NAME, result: result === 'skipped' ? 'skipped' : 'snapshot_ended' });
        if (result !== 'skipped') {
          metrics.snapshotDropped.inc({ projection: config.PROJECTION_NAME }, dropped);
          ctx.logger.info(
            { consistentPoint: end.consistentPoint, slot: end.slot, dropped },
            `snapshot of public.opportunities ended on partition ${ctx.source.partition}: ${dropped} opportunities it did not re-read removed`,
          );
        }
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
  // In task mode the kit consumes nothing; serving, it also reports a rebuild running beside it.
  if (!context.task) {
    rebuildMetrics(context.registry, started.backends.pool, config.PROJECTION_NAME, context.logger);
    positionMetrics(context.registry, started.backends.pool, config.PROJECTION_NAME, context.logger);
  }
  return started;
}

/** Task mode `rebuild`: the projection rebuilt beside the live projector and swapped in (`pipeline projection rebuild`). */
function startRebuild(context: ServiceContext<Config>): StartedService {
  const backends = connectBackends(`${SERVICE}-rebuild`, context.config, context.logger);
  return {
    stop: () => backends.close(),
    task: rebuildProjection(context.config, backends.kafka, backends.pool, context.logger).then(
      (result) => ({ ok: true, result: { ...result } }),
      // A refusal is an answer, not a crash: one line saying why and what to do.
      (error: unknown) => {
        if (error instanceof PipelineError && !error.retriable) return { ok: false, exitCode: 1, result: { error: error.message } };
        throw error;
      },
    ),
  };
}

import { startConsumerService } from '@pipeline/kit';
import type { ServiceContext, StartedService } from '@pipeline/runtime';
import { type Config, SERVICE } from './config';

/**
 * On the consumer kit with no handlers yet: it connects, serves /healthz, /readyz and /metrics,
 * and consumes nothing. Its handlers arrive with its own issue; until then no event is
 * dead-lettered and its consumer group commits nothing.
 */
export function start(context: ServiceContext<Config>): Promise<StartedService> {
  return startConsumerService(context, { service: SERVICE, handlers: {} });
}

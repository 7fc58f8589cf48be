import { consumerServiceEnvSchema, HTTP_PORTS } from '@pipeline/kit';
import { type Env, parseConfig } from '@pipeline/runtime';
import { z } from 'zod';

export const SERVICE = 'metrics-projector' as const;

export const configSchema = consumerServiceEnvSchema({ httpPort: HTTP_PORTS[SERVICE], latencyTargetMs: 100 }).extend({
  PROJECTION_NAME: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, { error: 'expected lower_snake_case' })
    .default('sales_metrics')
    .describe('Name of the projection in projection_checkpoints.'),
});

export type Config = z.output<typeof configSchema>;

export const loadConfig = (env: Env): Config => parseConfig(SERVICE, configSchema, env);

import { consumerServiceEnvSchema, HTTP_PORTS } from '@pipeline/kit';
import { type Env, parseConfig } from '@pipeline/runtime';
import { z } from 'zod';

export const SERVICE = 'inventory-watcher' as const;

export const configSchema = consumerServiceEnvSchema({ httpPort: HTTP_PORTS[SERVICE] }).extend({
  /** Time of day (UTC, HH:MM) of the daily check that catches any crossing missed. Default 02:00. */
  INVENTORY_DAILY_CHECK_AT: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'expected a UTC time of day as HH:MM, for example 02:00' })
    .default('02:00'),
});

export type Config = z.output<typeof configSchema>;

export const loadConfig = (env: Env): Config => parseConfig(SERVICE, configSchema, env);

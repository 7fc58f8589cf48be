import { consumerServiceEnvSchema, HTTP_PORTS, makeSchedule } from '@pipeline/kit';
import { type Env, parseConfig } from '@pipeline/runtime';
import { z } from 'zod';

export const SERVICE = 'inventory-watcher' as const;

export const configSchema = consumerServiceEnvSchema({ httpPort: HTTP_PORTS[SERVICE], latencyTargetMs: 100 })
  .extend({
    INVENTORY_DAILY_CHECK_CRON: z
      .string()
      .min(1)
      .default('0 8 * * *')
      .describe('When the daily check runs: five cron fields in INVENTORY_DAILY_CHECK_TZ.'),
    INVENTORY_DAILY_CHECK_TZ: z
      .string()
      .min(1)
      .default('UTC')
      .describe('The IANA time zone of INVENTORY_DAILY_CHECK_CRON, for example Europe/Warsaw.'),
    INVENTORY_DAILY_CHECK_AT: z
      .string()
      .optional()
      .describe('Replaced by INVENTORY_DAILY_CHECK_CRON and _TZ: set, it stops the service with what to write instead.'),
  })
  .superRefine((env, ctx) => {
    if (env.INVENTORY_DAILY_CHECK_AT !== undefined) {
      const [hour, minute] = env.INVENTORY_DAILY_CHECK_AT.split(':').map(Number);
      const example = Number.isInteger(hour) && Number.isInteger(minute) ? `${minute} ${hour} * * *` : '0 2 * * *';
      ctx.addIssue({
        code: 'custom',
        path: ['INVENTORY_DAILY_CHECK_AT'],
        message:
          `no longer read: set INVENTORY_DAILY_CHECK_CRON (five cron fields, here ${JSON.stringify(example)}) ` +
          'and INVENTORY_DAILY_CHECK_TZ (default UTC) instead, and unset INVENTORY_DAILY_CHECK_AT',
      });
    }
    try {
      makeSchedule(env.INVENTORY_DAILY_CHECK_CRON, env.INVENTORY_DAILY_CHECK_TZ);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['INVENTORY_DAILY_CHECK_CRON'], message: (error as Error).message });
    }
  });

export type Config = z.output<typeof configSchema>;

export const loadConfig = (env: Env): Config => parseConfig(SERVICE, configSchema, env);

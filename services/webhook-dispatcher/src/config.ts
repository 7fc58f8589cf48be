import { consumerServiceEnvSchema, HTTP_PORTS } from '@pipeline/kit';
import { type Env, envFields, parseConfig } from '@pipeline/runtime';
import { z } from 'zod';

export const SERVICE = 'webhook-dispatcher' as const;

/** The longest backoff a setting may ask for. */
const WEEK_MS = 7 * 24 * 3600 * 1000;

export const configSchema = consumerServiceEnvSchema({ httpPort: HTTP_PORTS[SERVICE], latencyTargetMs: 1_000 }).extend({
  WEBHOOK_SECRETS_KEY: z
    .string({ error: 'required: 32 bytes in base64 (`openssl rand -base64 32`), the key endpoint secrets are sealed with' })
    .refine((value) => Buffer.from(value, 'base64').length === 32, { error: 'expected 32 bytes in base64 (`openssl rand -base64 32`)' })
    .describe('Key the endpoint secrets are sealed with at rest (AES-256-GCM): 32 bytes in base64. Required; the CLI needs the same.'),
  WEBHOOK_ALLOW_PRIVATE_ENDPOINTS: envFields
    .boolean(false)
    .describe(
      'Let every subscription deliver to loopback and private addresses (RFC 1918, carrier-grade NAT, link-local, IPv6 unique local), as if each was added with --allow-private.',
    ),
  WEBHOOK_RESPONSE_TIMEOUT_MS: envFields
    .positiveInt(10_000, 600_000)
    .describe('How long one request may take, connecting included, before it counts as failed and is retried, ms.'),
  WEBHOOK_MAX_ATTEMPTS: envFields.positiveInt(12, 1_000).describe('Attempts of one delivery before it is dead and the admins are alerted.'),
  WEBHOOK_BACKOFF_BASE_MS: envFields
    .positiveInt(1_000, WEEK_MS)
    .describe('First retry delay, ms; it doubles per failed attempt (full jitter).'),
  WEBHOOK_BACKOFF_MAX_MS: envFields
    .positiveInt(600_000, WEEK_MS)
    .describe("Longest delay between two attempts, ms (at most a week); a receiver's Retry-After is capped at it too."),
  WEBHOOK_POLL_MS: envFields.positiveInt(100, 60_000).describe('How often the queue is looked at for due deliveries, ms.'),
});

export type Config = z.output<typeof configSchema>;

export const loadConfig = (env: Env): Config => parseConfig(SERVICE, configSchema, env);

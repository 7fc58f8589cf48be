import { consumerServiceEnvSchema, HTTP_PORTS } from '@pipeline/kit';
import { type Env, envFields, parseConfig } from '@pipeline/runtime';
import { z } from 'zod';

export const SERVICE = 'order-processor' as const;

export const configSchema = consumerServiceEnvSchema({ httpPort: HTTP_PORTS[SERVICE] }).extend({
  /** SES endpoint URL; unset means Amazon SES itself in AWS_REGION. The local stack's is http://127.0.0.1:18005. */
  SES_ENDPOINT: z.url({ error: 'expected a URL such as http://127.0.0.1:18005' }).optional(),
  /** AWS region of SES. Default us-east-1. */
  AWS_REGION: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'expected an AWS region such as eu-west-1' })
    .default('us-east-1'),
  /** Sender of confirmation emails: an address verified in SES. */
  SES_FROM_ADDRESS: z.email({ error: 'expected an email address verified in SES' }).default('orders@example.com'),
  /** Deadline of one SES request, ms (the SDK has none by default). Default 10000. */
  SES_REQUEST_TIMEOUT_MS: envFields.positiveInt(10_000),
  /** Folder where invoice PDFs are stored. Default ./invoices. */
  INVOICE_STORE_DIR: z.string().min(1).default('./invoices'),
});

export type Config = z.output<typeof configSchema>;

export const loadConfig = (env: Env): Config => parseConfig(SERVICE, configSchema, env);

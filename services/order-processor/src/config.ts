import { consumerServiceEnvSchema, HTTP_PORTS } from '@pipeline/kit';
import { type Env, envFields, parseConfig } from '@pipeline/runtime';
import { z } from 'zod';

export const SERVICE = 'order-processor' as const;

export const configSchema = consumerServiceEnvSchema({ httpPort: HTTP_PORTS[SERVICE], latencyTargetMs: 30_000 })
  .extend({
    SES_ENDPOINT: z
      .url({ error: 'expected a URL such as http://127.0.0.1:18005' })
      .optional()
      .describe("SES endpoint URL; unset means Amazon SES itself in AWS_REGION. The local stack's is http://127.0.0.1:18005."),
    AWS_REGION: z
      .string()
      .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { error: 'expected an AWS region such as eu-west-1' })
      .default('us-east-1')
      .describe('AWS region of SES.'),
    AWS_ACCESS_KEY_ID: z
      .string()
      .min(1)
      .optional()
      .describe("SES credentials; unset, the AWS SDK's default chain (instance role, ~/.aws, …) applies. Both or neither."),
    AWS_SECRET_ACCESS_KEY: z.string().min(1).optional().describe('The secret of AWS_ACCESS_KEY_ID (both or neither). Never logged.'),
    SES_FROM_ADDRESS: z
      .email({ error: 'expected an email address verified in SES' })
      .default('orders@example.com')
      .describe('Sender of the emails: an address verified in SES.'),
    SES_REQUEST_TIMEOUT_MS: envFields.positiveInt(5_000).describe('Deadline of one SES request, ms; below HANDLER_TIMEOUT_MS.'),
    INVOICE_STORE_DIR: z
      .string({ error: 'required: the folder invoice PDFs are stored in' })
      .min(1, { error: 'required: the folder invoice PDFs are stored in' })
      .describe('Folder of the invoice store (created if missing). Required: invoices are kept, so say where.'),
    INVOICE_LINK_SECRET: z
      .string({ error: 'required: at least 32 characters of secret (`openssl rand -hex 32` makes one)' })
      .min(32, { error: 'expected at least 32 characters of secret (`openssl rand -hex 32` makes one)' })
      .describe("Key of the invoice links' HMAC-SHA256 signatures, at least 32 characters (`openssl rand -hex 32`). Required."),
    INVOICE_PUBLIC_BASE_URL: z
      .url({ error: 'expected a URL such as https://shop.example.com' })
      .optional()
      .describe("Where customers reach this service's /invoices/… links."),
    INVOICE_LINK_TTL_SECONDS: envFields.positiveInt(2_592_000).describe('How long an invoice link works, seconds.'),
    INVOICE_RENDER_THREADS: z.coerce
      .number({ error: 'expected a whole number of threads' })
      .int({ error: 'expected a whole number of threads' })
      .min(0, { error: 'expected 0 (render on the event loop) to 16' })
      .max(16, { error: 'expected 0 (render on the event loop) to 16' })
      .default(1)
      .describe('Worker threads rendering invoice PDFs off the event loop; 0 renders on it.'),
    SELLER_NAME: z.string().min(1).default('WAL Pipeline Demo Store').describe("The seller on the invoice's header."),
    SELLER_ADDRESS: z
      .string()
      .min(1)
      .default('1 Commit Street, 00-001 Replication City')
      .describe("The seller's address on the invoice's header."),
  })
  .superRefine((env, ctx) => {
    if (env.SES_REQUEST_TIMEOUT_MS >= env.HANDLER_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['SES_REQUEST_TIMEOUT_MS'],
        message: `must be below HANDLER_TIMEOUT_MS (${env.HANDLER_TIMEOUT_MS}), or a slow send outlives its handler`,
      });
    }
    if ((env.AWS_ACCESS_KEY_ID === undefined) !== (env.AWS_SECRET_ACCESS_KEY === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.AWS_ACCESS_KEY_ID === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'],
        message: 'set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (the AWS default credential chain)',
      });
    }
  });

export type Config = z.output<typeof configSchema>;

export const loadConfig = (env: Env): Config => parseConfig(SERVICE, configSchema, env);

/** The base of invoice links: INVOICE_PUBLIC_BASE_URL, else this service's own address. */
export function invoiceBaseUrl(config: Config): string {
  return (
    config.INVOICE_PUBLIC_BASE_URL ?? `http://${config.HTTP_HOST === '0.0.0.0' ? '127.0.0.1' : config.HTTP_HOST}:${config.HTTP_PORT}`
  ).replace(/\/+$/, '');
}

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What `pipeline start` gives order-processor on the local stack when the environment does not:
 * an invoice store inside the stack's folder, a link-signing secret generated once and kept there
 * (so links keep working across restarts), and placeholder credentials for the local SES endpoint
 * (which checks none; the AWS SDK wants some).
 */
export function localOrderProcessorEnv(stackDir: string, env: Record<string, string | undefined>): Record<string, string> {
  const secretFile = join(stackDir, 'invoice-link-secret');
  if (!env.INVOICE_LINK_SECRET && !existsSync(secretFile)) {
    mkdirSync(stackDir, { recursive: true });
    writeFileSync(secretFile, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
  }
  return {
    INVOICE_STORE_DIR: env.INVOICE_STORE_DIR ?? join(stackDir, 'invoices'),
    INVOICE_LINK_SECRET: env.INVOICE_LINK_SECRET ?? readFileSync(secretFile, 'utf8').trim(),
    ...(env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY ? {} : { AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }),
  };
}

/**
 * The key webhook secrets are sealed with on the local stack, made once and kept in the stack's
 * folder: the CLI seals with it (`pipeline webhooks add`) and `pipeline start` gives it to the
 * webhook-dispatcher. Elsewhere set WEBHOOK_SECRETS_KEY for both.
 */
export function localWebhookSecretsKey(stackDir: string): string {
  const file = join(stackDir, 'webhook-secrets-key');
  if (!existsSync(file)) {
    mkdirSync(stackDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}

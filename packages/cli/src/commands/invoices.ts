import { makeStack, stackConfigFromEnv } from '@pipeline/stack';
import { Command } from 'commander';
import { CONNECTION_OPTIONS, type ConnectionOptions } from '../connections';
import { cliEnv, processEnv } from '../env';
import { localOrderProcessorEnv } from '../local-secrets';
import { CliError, printJson } from '../output';
import { runServiceTask } from '../service-job';
import { servicePorts } from '../services';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400 };

/** `3600`, `90m`, `24h`, `30d` as seconds. */
export function ttlSeconds(text: string): number {
  const match = /^(\d{1,9})([smhd]?)$/.exec(text.trim());
  if (!match) throw new CliError(`--ttl expects seconds or a number with s, m, h or d (30d, 24h), got ${JSON.stringify(text)}`);
  return Number(match[1]) * (UNITS[match[2] || 's'] ?? 1);
}

/**
 * `pipeline invoices link ORDER [--ttl 7d]`: a fresh signed link to an order's invoice, for support
 * staff; minted by the order-processor's own entry point (`node dist/main.js invoice-link`) with
 * its settings, since only it holds INVOICE_LINK_SECRET. Printed, never stored.
 */
export function invoicesCommand(): Command {
  const invoices = new Command('invoices').description('Invoices of the order-processor: signed links to them');
  const link = invoices
    .command('link <order-id>')
    .description(
      'Mint a fresh signed link to an order’s invoice (the link in the email is the only other one: orders keep no link); it is printed, not stored',
    )
    .option('--ttl <duration>', 'how long it works: seconds, or 90m, 24h, 30d (default: INVOICE_LINK_TTL_SECONDS, 30 days)')
    .option('--entry <file>', "the order-processor's entry point (default: services/order-processor/dist/main.js)")
    .option('--json', 'print the link and when it expires as JSON');
  for (const [flags, help] of CONNECTION_OPTIONS) link.option(flags, help);
  link.action(async (orderId: string, options: ConnectionOptions & { ttl?: string; entry?: string; json?: boolean }) => {
    const ttl = options.ttl === undefined ? [] : [String(ttlSeconds(options.ttl))];
    const settings = cliEnv();
    // On the local stack the order-processor's secret and address are the ones `pipeline start` gives it.
    const local = !(options.databaseUrl || settings.DATABASE_URL);
    const stack = local ? makeStack(stackConfigFromEnv()) : undefined;
    const env = stack
      ? {
          ...localOrderProcessorEnv(stack.config.dir, processEnv()),
          HTTP_PORT: String(servicePorts(settings.PIPELINE_HTTP_PORT_BASE).get('order-processor')),
        }
      : {};
    const { code, result, stderr } = await runServiceTask({
      ...options,
      service: 'order-processor',
      args: ['invoice-link', orderId, ...ttl],
      env,
    });
    const outcome = result as { error?: string; url?: string; expiresAt?: string; invoiceNumber?: string } | undefined;
    if (!outcome || typeof outcome !== 'object') {
      throw new CliError(`the order-processor could not mint a link (exit code ${code}):\n${stderr.slice(-15).join('\n')}`, code || 1);
    }
    if (outcome.error) throw new CliError(outcome.error, code || 1);
    if (options.json) return printJson(outcome);
    process.stdout.write(`${outcome.url}\n(invoice ${outcome.invoiceNumber}; works until ${outcome.expiresAt}; not stored anywhere)\n`);
  });
  return invoices;
}

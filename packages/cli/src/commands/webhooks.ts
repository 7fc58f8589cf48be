import { randomUUID } from 'node:crypto';
import { makeStack, stackConfigFromEnv } from '@pipeline/stack';
import {
  addSubscription,
  attemptLog,
  listSubscriptions,
  redeliver,
  rotateSecret,
  SecretBox,
  setActive,
  setAllowPrivate,
  subscriptionId,
  subscriptionsById,
  WebhookSender,
  webhookHeaders,
} from '@pipeline/webhooks';
import { Command } from 'commander';
import { CONNECTION_OPTIONS, type ConnectionOptions, withPool } from '../connections';
import { cliEnv } from '../env';
import { localWebhookSecretsKey } from '../local-secrets';
import { CliError, formatTable, printJson } from '../output';

/** The key secrets are sealed with: WEBHOOK_SECRETS_KEY, or on the local stack the one kept in its folder. */
function secretBox(options: ConnectionOptions): SecretBox {
  const settings = cliEnv();
  const key =
    settings.WEBHOOK_SECRETS_KEY ??
    (options.databaseUrl || settings.DATABASE_URL ? undefined : localWebhookSecretsKey(makeStack(stackConfigFromEnv()).config.dir));
  if (!key) throw new CliError('set WEBHOOK_SECRETS_KEY to the webhook-dispatcher’s key: secrets are sealed with it');
  return new SecretBox(key);
}

function withDatabase(command: Command): Command {
  const [database] = CONNECTION_OPTIONS;
  if (database) command.option(database[0], database[1]);
  return command.option('--json', 'print the result as JSON');
}

const fail = (error: unknown): never => {
  throw new CliError((error as Error).message);
};

export function webhooksCommand(): Command {
  const webhooks = new Command('webhooks').description(
    'Database webhooks (webhook-dispatcher): subscriptions of HTTP endpoints to changes, their secrets, deliveries and log',
  );

  withDatabase(
    webhooks
      .command('add <name>')
      .description('Subscribe an endpoint to changes; prints its signing secret once (it is stored sealed)')
      .requiredOption('--url <url>', 'the endpoint (https://; plain http:// only to a loopback or private address, with --allow-private)')
      .requiredOption('--table <schema.table...>', 'tables whose changes it receives, for example public.orders')
      .option('--operation <type...>', 'INSERT, UPDATE and/or DELETE (default: all three)')
      .option('--changed <column...>', 'only updates that change one of these columns (tables with REPLICA IDENTITY FULL)')
      .option('--max-concurrency <n>', 'requests in flight to it at most', '4')
      .option('--max-per-second <n>', 'requests per second to it at most (default: no limit)')
      .option(
        '--allow-private',
        'deliver to loopback and private addresses too (an endpoint inside your network); kept with the subscription and checked at every delivery',
      ),
  ).action(
    async (
      name: string,
      options: ConnectionOptions & {
        url: string;
        table: string[];
        operation?: string[];
        changed?: string[];
        maxConcurrency: string;
        maxPerSecond?: string;
        allowPrivate?: boolean;
        json?: boolean;
      },
    ) => {
      const operations = (options.operation ?? []).map((o) => o.toUpperCase());
      const unknown = operations.filter((o) => !['INSERT', 'UPDATE', 'DELETE'].includes(o));
      if (unknown.length > 0) throw new CliError(`--operation: expected INSERT, UPDATE or DELETE, got ${unknown.join(', ')}`);
      const box = secretBox(options);
      const added = await withPool(options, (pool) =>
        addSubscription(
          pool,
          box,
          {
            name,
            url: options.url,
            tables: options.table,
            operations: operations as ('INSERT' | 'UPDATE' | 'DELETE')[],
            changedColumns: options.changed ?? [],
            maxConcurrency: Number(options.maxConcurrency),
            ...(options.maxPerSecond ? { maxPerSecond: Number(options.maxPerSecond) } : {}),
          },
          { allowPrivate: Boolean(options.allowPrivate) },
        ).catch(fail),
      );
      if (options.json) return printJson({ name, id: added.id, secret: added.secret });
      process.stdout.write(
        `subscribed ${name} (${options.url}) to ${options.table.join(', ')}\n` +
          `its signing secret (shown once; give it to the receiver): ${added.secret}\n`,
      );
    },
  );

  withDatabase(
    webhooks.command('list').description('Every subscription: endpoint, tables, filter, state, queued, dead and delivered'),
  ).action(async (options: ConnectionOptions & { json?: boolean }) => {
    const all = await withPool(options, listSubscriptions);
    if (options.json) return printJson(all);
    const rows = all.map((s) => [
      s.name,
      s.allowPrivate ? `${s.url} (private allowed)` : s.url,
      [
        s.tables.join(','),
        s.operations.length ? s.operations.join(',') : '',
        s.changedColumns.length ? `changed ${s.changedColumns.join(',')}` : '',
      ]
        .filter(Boolean)
        .join(' '),
      s.active ? (s.rotating ? 'active (rotating)' : 'active') : `disabled: ${s.disabledReason ?? ''}`,
      String(s.pending),
      String(s.dead),
      String(s.delivered),
    ]);
    process.stdout.write(`${formatTable(['NAME', 'URL', 'RECEIVES', 'STATE', 'QUEUED', 'DEAD', 'DELIVERED'], rows)}\n`);
  });

  for (const [verb, active] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    withDatabase(
      webhooks
        .command(`${verb} <name>`)
        .description(
          active
            ? 'Resume deliveries to an endpoint (what was queued meanwhile goes out)'
            : 'Stop deliveries to an endpoint; changes still queue',
        ),
    ).action(async (name: string, options: ConnectionOptions & { json?: boolean }) => {
      await withPool(options, (pool) => setActive(pool, name, active).catch(fail));
      if (options.json) return printJson({ name, active });
      process.stdout.write(`${name} ${active ? 'enabled' : 'disabled'}\n`);
    });
  }

  withDatabase(
    webhooks
      .command('set <name>')
      .description('Change a subscription: whether it may deliver to loopback and private addresses')
      .option('--allow-private', 'deliver to loopback and private addresses too (an endpoint inside your network)')
      .option('--no-allow-private', 'deliver to public addresses only'),
  ).action(async (name: string, options: ConnectionOptions & { allowPrivate?: boolean; json?: boolean }) => {
    if (options.allowPrivate === undefined) throw new CliError('say what to change: --allow-private or --no-allow-private');
    const allowPrivate = options.allowPrivate;
    await withPool(options, (pool) => setAllowPrivate(pool, name, allowPrivate).catch(fail));
    if (options.json) return printJson({ name, allowPrivate });
    process.stdout.write(
      allowPrivate
        ? `${name} may now deliver to loopback and private addresses; deliveries dead for their address go out with \`pipeline webhooks redeliver --endpoint ${name} --failed\`\n`
        : `${name} delivers to public addresses only\n`,
    );
  });

  withDatabase(
    webhooks
      .command('rotate-secret <name>')
      .description('A new signing secret; the old one keeps signing too (two signatures) for the overlap')
      .option('--overlap-hours <n>', 'how long the old secret still signs', '24'),
  ).action(async (name: string, options: ConnectionOptions & { overlapHours: string; json?: boolean }) => {
    const box = secretBox(options);
    const rotated = await withPool(options, (pool) => rotateSecret(pool, box, name, Number(options.overlapHours) * 3600).catch(fail));
    if (options.json) return printJson({ name, secret: rotated.secret, previousUntil: rotated.previousUntil.toISOString() });
    process.stdout.write(
      `new signing secret of ${name} (shown once): ${rotated.secret}\nthe old one also signs until ${rotated.previousUntil.toISOString()}\n`,
    );
  });

  withDatabase(
    webhooks.command('test <name>').description('Send a signed test request (type TEST) to the endpoint now, and show its answer'),
  ).action(async (name: string, options: ConnectionOptions & { json?: boolean }) => {
    const box = secretBox(options);
    const subscription = await withPool(options, async (pool) => {
      const id = await subscriptionId(pool, name).catch(fail);
      return (await subscriptionsById(pool, [id])).get(id);
    });
    if (!subscription) throw new CliError(`no webhook subscription named ${name}`);
    const body = JSON.stringify({
      type: 'TEST',
      table: null,
      schema: null,
      record: null,
      old_record: null,
      event_id: `test_${randomUUID()}`,
      commit_timestamp: new Date().toISOString(),
    });
    const sender = new WebhookSender({ connectTimeoutMs: 10_000 });
    const started = performance.now();
    const outcome = await sender
      .post({
        url: subscription.url,
        body,
        allowPrivate: subscription.allowPrivate,
        timeoutMs: 10_000,
        headers: {
          'content-type': 'application/json',
          ...webhookHeaders(
            [box.open(subscription.secretSealed, subscription.id)],
            `msg_test_${randomUUID()}`,
            Math.floor(Date.now() / 1000),
            body,
          ),
        },
      })
      .finally(() => sender.close());
    if (outcome.kind === 'refused') throw new CliError(`not sent to ${subscription.url}: ${outcome.reason}`);
    if (outcome.kind !== 'answered') throw new CliError(`${subscription.url} did not answer: ${outcome.reason}`);
    const result = { name, url: subscription.url, status: outcome.status, latencyMs: Math.round(performance.now() - started) };
    if (options.json) return printJson(result);
    process.stdout.write(
      `${name} answered ${result.status} in ${result.latencyMs} ms${outcome.bodySnippet && result.status >= 300 ? `: ${outcome.bodySnippet}` : ''}\n`,
    );
    if (result.status >= 300) process.exitCode = 1;
  });

  withDatabase(
    webhooks
      .command('redeliver')
      .description('Queue deliveries of an endpoint again (same webhook-id): the dead ones, or all since a time')
      .requiredOption('--endpoint <name>', 'the subscription')
      .option('--failed', 'the dead deliveries')
      .option('--since <iso>', 'every delivery of a change committed at or after this time'),
  ).action(async (options: ConnectionOptions & { endpoint: string; failed?: boolean; since?: string; json?: boolean }) => {
    const since = options.since ? new Date(options.since) : undefined;
    if (since && Number.isNaN(since.getTime()))
      throw new CliError(`--since: expected a time such as 2026-12-04T10:00:00Z, got ${options.since}`);
    const count = await withPool(options, (pool) =>
      redeliver(pool, options.endpoint, { ...(options.failed ? { failed: true } : {}), ...(since ? { since } : {}) }).catch(fail),
    );
    if (options.json) return printJson({ endpoint: options.endpoint, requeued: count });
    process.stdout.write(`requeued ${count} deliver${count === 1 ? 'y' : 'ies'} to ${options.endpoint}\n`);
  });

  withDatabase(
    webhooks
      .command('log')
      .description('Delivery attempts, newest first: endpoint, event, status code, latency, verdict, error')
      .option('--endpoint <name>', 'one subscription')
      .option('--failed', 'failed attempts only')
      .option('--limit <n>', 'how many', '50'),
  ).action(async (options: ConnectionOptions & { endpoint?: string; failed?: boolean; limit: string; json?: boolean }) => {
    const attempts = await withPool(options, (pool) =>
      attemptLog(pool, {
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.failed ? { failed: true } : {}),
        limit: Number(options.limit),
      }),
    );
    if (options.json) return printJson(attempts);
    const rows = attempts.map((a) => [
      a.at.toISOString(),
      a.endpoint,
      a.eventId,
      a.statusCode === null ? '-' : String(a.statusCode),
      `${a.latencyMs} ms`,
      a.verdict,
      a.error ?? '',
    ]);
    process.stdout.write(`${formatTable(['AT', 'ENDPOINT', 'EVENT', 'STATUS', 'LATENCY', 'VERDICT', 'ERROR'], rows)}\n`);
  });

  return webhooks;
}

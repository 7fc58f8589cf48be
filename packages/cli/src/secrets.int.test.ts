import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { eventually, freePort, inheritedEnv, runPipelineAsync, SesFaultProxy } from '@pipeline/testing';
import { Kafka, logLevel } from 'kafkajs';
import { PipelineRun } from './__tests__/pipeline-run';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/**
 * A known value in every secret setting (docs/architecture.md, "Secrets"), then `pipeline start`
 * with the demo while SES fails now and then and a webhook endpoint fails always, and each error
 * path (an invalid configuration, an unreachable database): no value appears in any log line or
 * anything the CLI prints, and no invoice signature on any cdc topic or in any webhook body.
 */
describe('secrets stay secret', () => {
  const harness = new PipelineRun('pipeline-secrets-');
  const secrets = {
    PIPELINE_PG_PASSWORD: `pg-${hex(12)}`,
    PIPELINE_READER_PASSWORD: `reader-${hex(12)}`,
    CDC_READER_PASSWORD: `cdc-reader-${hex(12)}`,
    INVOICE_LINK_SECRET: `invoice-${hex(20)}`,
    WEBHOOK_SECRETS_KEY: randomBytes(32).toString('base64'),
    AWS_SECRET_ACCESS_KEY: `aws/${randomBytes(24).toString('base64')}`,
    KAFKA_SASL_PASSWORD: `sasl-${hex(12)}`,
  };
  /** Everything printed or logged, command by command, for the final look. */
  const outputs: { what: string; text: string }[] = [];
  const bodies: string[] = [];
  let failing: Server;
  let proxy: SesFaultProxy;
  let env: Record<string, string | undefined>;

  /** Runs the CLI without blocking this process (the SES proxy and the receiver live here), keeping what it printed. */
  const cli = async (args: string[], extra: Record<string, string> = {}) => {
    const run = await runPipelineAsync(args, { ...env, ...extra }, { exactEnv: true });
    outputs.push({ what: `pipeline ${args.join(' ')}`, text: `${run.stdout}${run.stderr}` });
    return run;
  };

  beforeAll(async () => {
    await harness.init();
    // In front of the private stack's own SES endpoint (`stack up` starts it; `pipeline start` then uses the proxy).
    proxy = await new SesFaultProxy(`http://127.0.0.1:${harness.config.ses.port}`).start();
    // Fails every delivery's first attempt (500), takes its retry: the failure path, and a row's later changes still arrive.
    const tried = new Set<string>();
    failing = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        const id = String(req.headers['webhook-id']);
        if (tried.has(id)) return res.writeHead(204).end();
        tried.add(id);
        res.writeHead(500).end('the receiver is down');
      });
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    env = await harness.env({ ...secrets, AWS_ACCESS_KEY_ID: 'AKIASECRETSTEST', RETRY_DELAYS_MS: '1000,1000,1000' });
  }, 60_000);

  afterAll(async () => {
    await harness.interrupt();
    await harness.destroy();
    await proxy?.stop();
    await new Promise((resolve) => failing?.close(resolve));
  }, 120_000);

  it('shows no secret in any line, and no signed link on any topic or in any webhook', async () => {
    const up = await cli(['stack', 'up']);
    expect([up.status, up.stderr]).toEqual([0, '']);
    expect((await cli(['migrate'])).status).toBe(0);
    const url = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/hook`;
    const added = await cli(['webhooks', 'add', 'failing', '--url', url, '--table', 'public.orders', '--allow-private', '--json']);
    expect(added.status).toBe(0);
    // Shown once, on purpose, by `add` alone: from then on it is a secret like the others.
    const { secret } = JSON.parse(added.stdout) as { secret: string };
    outputs.pop();

    proxy.failNext('Throttling', 2);
    proxy.failNext('ServiceUnavailable', 1);
    const exited = harness.start({ ...env, SES_ENDPOINT: proxy.endpoint }, [
      '--demo-seconds',
      '6',
      '--demo-rate',
      '4',
      '--demo-seed',
      '5',
      '--status-every',
      '0',
    ]);
    await eventually('the demo’s summary', async () => harness.lines.find((line) => line.msg === 'demo summary'), 150_000);
    await eventually(
      'a confirmed order at the failing endpoint',
      async () => (bodies.some((b) => b.includes('/invoices/')) ? true : undefined),
      60_000,
    );
    await eventually(
      'the dispatcher saying the endpoint failed',
      async () => harness.lines.find((line) => line.service === 'webhook-dispatcher' && /failed \(HTTP 500/.test(line.msg)),
      30_000,
    );
    await harness.interrupt();
    await exited;
    outputs.push({ what: 'pipeline start', text: harness.lines.map((line) => JSON.stringify(line)).join('\n') });
    expect(proxy.seen.length).toBeGreaterThan(3);

    // No signed link where it is captured: every cdc topic, every webhook body.
    const kafka = new Kafka({ brokers: [`127.0.0.1:${harness.config.kafka.port}`], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith('cdc.'));
    await admin.disconnect();
    expect(topics).toContain('cdc.public.orders');
    const consumer = kafka.consumer({ groupId: `secrets-${hex(4)}` });
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    const values: Buffer[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void (message.value && values.push(message.value)) });
    await eventually('the orders read back', async () => (values.some((v) => v.includes('/invoices/')) ? true : undefined), 30_000);
    await consumer.disconnect();
    expect(values.filter((v) => v.includes('signature='))).toEqual([]);
    expect(bodies.some((body) => body.includes('/invoices/'))).toBe(true);
    expect(bodies.filter((body) => body.includes('signature='))).toEqual([]);

    // An invalid configuration: the service says which variables are wrong, echoing none of their secrets.
    const dispatcher = join(harness.repoRoot, 'services', 'webhook-dispatcher', 'dist', 'main.js');
    const invalid = spawnSync(process.execPath, [dispatcher], {
      env: {
        PATH: inheritedEnv().PATH,
        DATABASE_URL: `postgres://pipeline:${secrets.PIPELINE_PG_PASSWORD}@127.0.0.1:99999/pipeline`,
        // 35 bytes: wrong, and nearly the whole key.
        WEBHOOK_SECRETS_KEY: `${secrets.WEBHOOK_SECRETS_KEY.slice(0, -1)}AAAA`,
        INVOICE_LINK_SECRET: secrets.INVOICE_LINK_SECRET,
        KAFKA_SASL_MECHANISM: 'nonsense',
        KAFKA_SASL_PASSWORD: secrets.KAFKA_SASL_PASSWORD,
      },
      encoding: 'utf8',
    });
    outputs.push({ what: 'an invalid configuration', text: `${invalid.stdout}${invalid.stderr}` });
    expect(invalid.status).toBe(78);
    for (const variable of ['DATABASE_URL', 'WEBHOOK_SECRETS_KEY', 'KAFKA_SASL_MECHANISM']) expect(invalid.stderr).toContain(variable);

    // An unreachable database: the CLI and a service started against it say so, without the password.
    const closed = await freePort();
    const unreachable = `postgres://pipeline:${secrets.PIPELINE_PG_PASSWORD}@127.0.0.1:${closed}/pipeline`;
    expect((await cli(['start', '--no-demo', '--status-every', '0'], { DATABASE_URL: unreachable })).status).not.toBe(0);
    expect((await cli(['migrate'], { DATABASE_URL: unreachable })).status).not.toBe(0);
    const watcher = spawnSync(process.execPath, [join(harness.repoRoot, 'services', 'inventory-watcher', 'dist', 'main.js')], {
      env: {
        PATH: inheritedEnv().PATH,
        ...secrets,
        DATABASE_URL: unreachable,
        KAFKA_BROKERS: `127.0.0.1:${await freePort()}`,
        HTTP_PORT: String(await freePort()),
        KAFKA_CONNECTION_TIMEOUT_MS: '500',
        LOG_LEVEL: 'debug',
      },
      encoding: 'utf8',
      timeout: 4_000,
    });
    outputs.push({ what: 'a service whose database is unreachable', text: `${watcher.stdout}${watcher.stderr}` });
    expect(`${watcher.stdout}${watcher.stderr}`).toMatch(/ECONNREFUSED|connect/);

    // The look: every secret, everywhere.
    const known = [...Object.values(secrets), secrets.WEBHOOK_SECRETS_KEY.slice(0, -1), secret];
    const leaks = outputs.flatMap(({ what, text }) => known.filter((value) => text.includes(value)).map((value) => `${what}: ${value}`));
    expect(leaks).toEqual([]);
    expect(outputs.map((o) => o.text).join('\n')).toContain('[redacted]');
  }, 300_000);
});

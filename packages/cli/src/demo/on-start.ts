import { makePool } from '@pipeline/db';
import { makeKafka } from '@pipeline/kafka';
import { makeLogger } from '@pipeline/runtime';
import { logLevel } from 'kafkajs';
import { collectStatus } from '../status/collect';
import { renderStatus } from '../status/render';
import type { LogOutput } from '../supervisor/log-output';
import { waitUntilReady } from '../supervisor/readiness';
import { runDemo } from './run';
import { renderSummary } from './summary';
import { type DemoReceiver, startDemoReceiver } from './webhook-receiver';

export interface ShowOptions {
  output: LogOutput;
  pretty: boolean;
  databaseUrl: string;
  brokers: string[];
  sesEndpoint: string | undefined;
  services: { name: string; port: number }[];
  readerDlqTopic: string;
  /** The webhook-dispatcher's sealing key: the demo subscribes a receiver of its own to order status changes. */
  webhookSecretsKey?: string | undefined;
  /** A short demo once every service is ready; undefined: none. */
  demo: { seconds: number; rate: number; seed?: number | undefined } | undefined;
  /** How often the status is printed; 0: never. */
  statusEverySeconds: number;
  /** True once `pipeline start` is stopping: nothing more is printed. */
  stopping: () => boolean;
}

/**
 * What `npm start` shows once the services run: a short demo's traffic and its summary, then the
 * pipeline's status every few seconds (a screen on a terminal, a JSON line when piped).
 */
export async function demoThenStatus(options: ShowOptions): Promise<void> {
  const { output } = options;
  const pool = makePool({ connectionString: options.databaseUrl, applicationName: 'pipeline-start', max: 2 }, () => undefined);
  const kafka = makeKafka(
    { clientId: 'pipeline-start', brokers: options.brokers, connectionTimeout: 5_000, retry: { retries: 3 } },
    makeLogger({ service: 'pipeline-start', level: 'silent' }),
    logLevel.NOTHING,
  );
  const admin = kafka.admin();
  await admin.connect();
  let receiver: DemoReceiver | undefined;
  try {
    if (options.demo && options.webhookSecretsKey) {
      receiver = await startDemoReceiver(pool, options.webhookSecretsKey);
      output.say('info', `demo: ${receiver.url} receives the orders' status changes as webhooks (subscription ${receiver.name})`);
    }
    if (options.demo && (await allReady(options))) {
      output.say('info', `demo: ${options.demo.rate} actions/s for ${options.demo.seconds} s (\`npm start -- --no-demo\` skips it)`);
      let lastSaid = 0;
      const summary = await runDemo({
        pool,
        admin,
        sesEndpoint: options.sesEndpoint,
        rate: options.demo.rate,
        durationSeconds: options.demo.seconds,
        seed: options.demo.seed ?? Math.floor(Math.random() * 1_000_000),
        onProgress: (done, total) => {
          if (Date.now() - lastSaid < 5_000 && done < total) return;
          lastSaid = Date.now();
          output.say('info', `demo: ${done} of ${total} actions written`);
        },
      });
      if (options.stopping()) return;
      if (options.pretty) output.say('info', renderSummary(summary).trimEnd());
      else output.say('info', 'demo summary', { summary });
      if (receiver) {
        const { received, verified } = receiver.counts();
        output.say(
          'info',
          `demo webhooks: ${received} order status changes received by ${receiver.name}, ${verified} with a valid signature`,
          {
            webhooks: { received, verified },
          },
        );
      }
    } else if (options.demo) output.say('warn', 'demo skipped: not every service became ready (see above)');
    while (options.statusEverySeconds > 0 && !options.stopping()) {
      const status = await collectStatus({ pool, admin, services: options.services, readerDlqTopic: options.readerDlqTopic });
      if (options.stopping()) return;
      if (options.pretty) output.say('info', renderStatus(status).trimEnd());
      else output.say('info', 'status', { status });
      await new Promise((resolve) => setTimeout(resolve, options.statusEverySeconds * 1000));
    }
    // The demo's receiver keeps answering while the pipeline runs (orders keep changing status).
    while (receiver && !options.stopping()) await new Promise((resolve) => setTimeout(resolve, 500));
  } finally {
    await receiver?.close();
    await admin.disconnect().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}

/** Waits up to 3 minutes for every service's /readyz. */
async function allReady(options: ShowOptions): Promise<boolean> {
  const ready = await Promise.all(
    options.services.map(({ port }) => waitUntilReady(`http://127.0.0.1:${port}/readyz`, 180_000, options.stopping)),
  );
  return ready.every(Boolean);
}

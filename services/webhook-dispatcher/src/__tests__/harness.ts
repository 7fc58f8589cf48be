import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import {
  createTestDatabase,
  freePort,
  sharedStack,
  startServiceChild,
  type TestChild,
  type TestDatabase,
  testLogLevel,
  uniqueName,
} from '@pipeline/testing';
import { addSubscription, SecretBox, type SubscriptionRequest } from '@pipeline/webhooks';
import { startReaderProcess } from '../../../cdc-reader/src/__tests__/process';

/** The compiled service (npm run build). */
export const DISPATCHER_ENTRY = join(__dirname, '..', '..', 'dist', 'main.js');

/**
 * A database of its own with the real cdc-reader streaming it into a topic prefix of its own, and
 * the built webhook-dispatcher consuming that prefix: what a test needs to send changes to
 * receivers of its own.
 */
export class WebhookStack {
  db!: TestDatabase;
  reader: ChildProcess | undefined;
  dispatcher: (TestChild & { port: number }) | undefined;
  readonly key = randomBytes(32).toString('base64');
  readonly box = new SecretBox(this.key);
  readonly prefix = uniqueName('test_webhooks');
  readonly schemaTopic = uniqueName('_pipeline.schemas.webhooks');
  readonly group = uniqueName('test-webhooks');

  /**
   * `db`: a database of the test's own (a private server it stops and starts); default one cloned
   * on the shared server. `dispatcherEnv` and `readerEnv` add to or override the services' settings.
   */
  constructor(
    private readonly options: { db?: TestDatabase; dispatcherEnv?: Record<string, string>; readerEnv?: Record<string, string> } = {},
  ) {}

  async start(): Promise<void> {
    this.db = this.options.db ?? (await createTestDatabase('webhooks'));
    this.reader = await startReaderProcess(
      {
        DATABASE_URL: this.db.readerUrl,
        KAFKA_BROKERS: sharedStack().endpoints.kafkaBrokers.join(','),
        CDC_SLOT_NAME: uniqueName('slot_webhooks'),
        CDC_TOPIC_PREFIX: this.prefix,
        CDC_SCHEMA_TOPIC: this.schemaTopic,
        CDC_DLQ_TOPIC: uniqueName('_pipeline.cdc.dlq.webhooks'),
        LOG_LEVEL: testLogLevel('warn'),
        ...this.options.readerEnv,
      },
      await freePort(),
    );
    await this.startDispatcher();
  }

  async startDispatcher(): Promise<void> {
    this.dispatcher = await startServiceChild(DISPATCHER_ENTRY, {
      DATABASE_URL: this.db.url,
      CDC_TOPIC_PREFIX: this.prefix,
      SCHEMA_TOPIC: this.schemaTopic,
      CONSUMER_GROUP: this.group,
      WEBHOOK_SECRETS_KEY: this.key,
      WEBHOOK_BACKOFF_BASE_MS: '300',
      // Above the Retry-After: 2 a test honours, so the cap does not shorten it.
      WEBHOOK_BACKOFF_MAX_MS: '5000',
      WEBHOOK_POLL_MS: '50',
      WEBHOOK_RESPONSE_TIMEOUT_MS: '50000',
      HANDLER_TIMEOUT_MS: '5000',
      ...this.options.dispatcherEnv,
    });
  }

  async stopDispatcher(): Promise<void> {
    const child = this.dispatcher;
    if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
    child.process.kill('SIGTERM');
    await child.exited;
  }

  /** A subscription of a receiver of the test's: on loopback, so added with allowPrivate (as `--allow-private` does). */
  subscribe(request: Omit<SubscriptionRequest, 'name' | 'operations' | 'changedColumns'> & Partial<SubscriptionRequest>) {
    return addSubscription(
      this.db.pool,
      this.box,
      {
        name: uniqueName('endpoint'),
        operations: [],
        changedColumns: [],
        ...request,
      },
      { allowPrivate: true },
    );
  }

  async stop(): Promise<void> {
    await this.stopDispatcher();
    if (this.reader && this.reader.exitCode === null) {
      this.reader.kill('SIGTERM');
      await once(this.reader, 'exit');
    }
    await this.db?.drop();
  }
}

import { alertWebhookDead, type Pool } from '@pipeline/db';
import { type Logger, processSecrets, sleep } from '@pipeline/runtime';
import {
  claimDue,
  type DueDelivery,
  judgeAttempt,
  printable,
  type Resolver,
  release,
  type SecretBox,
  type SendOutcome,
  type Subscription,
  settle,
  subscriptionsById,
  WebhookSender,
  webhookHeaders,
} from '@pipeline/webhooks';
import type { Config } from './config';
import type { DispatcherMetrics } from './metrics';
import { type Settlement, settlementOf } from './settlement';

/** Settling an attempt that failed (PostgreSQL away) is tried again after this long, doubling up to the cap, ms. */
const SETTLE_RETRY_FIRST_MS = 250;
const SETTLE_RETRY_MAX_MS = 5_000;

/**
 * Sends what the queue holds: claims due deliveries (each the oldest pending one of its row, for
 * an endpoint that is active and not backing off), at most `maxConcurrency` in flight per
 * endpoint, and settles each attempt in the database. One endpoint that hangs or fails holds only
 * its own slots: the others are claimed and sent meanwhile.
 *
 * Nothing a receiver or the database does ends the process: every answer (or its absence) becomes
 * a verdict (WebhookSender, judgeAttempt), and an attempt whose settle fails is kept and settled
 * again with backoff until PostgreSQL answers; meanwhile nothing new is claimed, so a delivery is
 * not sent twice because its lease ran out while it could not be recorded.
 */
export class Dispatcher {
  private readonly inFlight = new Map<string, number>();
  private readonly sending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  private polling = false;
  /** Attempts whose recording failed and is being tried again (PostgreSQL unreachable): no claims until they are recorded. */
  private unsettled = 0;
  /** When each endpoint may next be sent to under its max_per_second. */
  private readonly nextSlot = new Map<string, number>();
  /** Each endpoint's max_concurrency as last read: one at its limit is left out of the next claim. */
  private readonly limits = new Map<string, number>();
  private readonly sender: WebhookSender;

  constructor(
    private readonly options: {
      pool: Pool;
      config: Config;
      box: SecretBox;
      logger: Logger;
      metrics: DispatcherMetrics;
      random?: () => number;
      /** Resolves endpoint host names; tests inject one. */
      resolver?: Resolver;
    },
  ) {
    this.sender = new WebhookSender({
      connectTimeoutMs: options.config.WEBHOOK_RESPONSE_TIMEOUT_MS,
      ...(options.resolver ? { resolver: options.resolver } : {}),
    });
  }

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.options.config.WEBHOOK_POLL_MS);
  }

  /** Stops claiming; waits for the requests in flight (each bounded by the response timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    clearInterval(this.timer);
    await Promise.allSettled([...this.sending]);
    await this.sender.close();
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped || this.unsettled > 0) return;
    this.polling = true;
    try {
      // An endpoint with every slot taken (a hanging one, say) is not even claimed for: the others get the claims.
      const busy = [...this.inFlight].filter(([id, n]) => n >= (this.limits.get(id) ?? 64)).map(([id]) => id);
      const claimed = await claimDue(this.options.pool, {
        limit: 200,
        leaseMs: this.options.config.WEBHOOK_RESPONSE_TIMEOUT_MS + 30_000,
        busy,
      });
      if (claimed.length === 0) return;
      const subscriptions = await subscriptionsById(this.options.pool, [...new Set(claimed.map((d) => d.subscriptionId))]);
      for (const s of subscriptions.values()) {
        if (!this.limits.has(s.id)) this.options.metrics.init(s.name);
        this.limits.set(s.id, s.maxConcurrency);
      }
      const giveBack: string[] = [];
      for (const delivery of claimed) {
        const subscription = subscriptions.get(delivery.subscriptionId);
        const running = this.inFlight.get(delivery.subscriptionId) ?? 0;
        if (!subscription || running >= subscription.maxConcurrency || !this.rateAllows(subscription)) {
          giveBack.push(delivery.id);
          continue;
        }
        this.inFlight.set(delivery.subscriptionId, running + 1);
        const sent = this.send(subscription, delivery).finally(() => {
          this.inFlight.set(delivery.subscriptionId, (this.inFlight.get(delivery.subscriptionId) ?? 1) - 1);
          this.sending.delete(sent);
        });
        this.sending.add(sent);
      }
      await release(this.options.pool, giveBack);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'could not read the webhook queue: trying again');
    } finally {
      this.polling = false;
    }
  }

  private rateAllows(subscription: Subscription): boolean {
    if (!subscription.maxPerSecond) return true;
    const now = Date.now();
    const slot = this.nextSlot.get(subscription.id) ?? 0;
    if (slot > now) return false;
    this.nextSlot.set(subscription.id, Math.max(slot, now) + 1000 / subscription.maxPerSecond);
    return true;
  }

  /** The subscription's signing secrets, opened; each becomes one the logger scrubs from every line. */
  private secrets(subscription: Subscription): string[] {
    const { box } = this.options;
    const secrets = [box.open(subscription.secretSealed, subscription.id)];
    if (subscription.previousSecretSealed && subscription.previousSecretUntil && subscription.previousSecretUntil.getTime() > Date.now()) {
      secrets.push(box.open(subscription.previousSecretSealed, subscription.id));
    }
    for (const secret of secrets) processSecrets.add(secret);
    return secrets;
  }

  /** One attempt, start to end; it never rejects (a failure of our own is logged, and the lease brings the delivery back). */
  private async send(subscription: Subscription, delivery: DueDelivery): Promise<void> {
    try {
      const settlement = await this.attempt(subscription, delivery);
      if (!(await this.settleUntilRecorded(subscription, settlement))) return;
      await this.afterSettled(subscription, delivery, settlement);
    } catch (error) {
      this.options.logger.error(
        { err: error, endpoint: subscription.name, eventId: delivery.eventId },
        `webhook delivery to ${subscription.name} failed on our side; it is attempted again once its claim expires`,
      );
    }
  }

  /** Sends the request and judges what came back (or did not). */
  private async attempt(subscription: Subscription, delivery: DueDelivery): Promise<Settlement> {
    const { config, metrics } = this.options;
    const body = JSON.stringify(delivery.payload);
    const started = performance.now();
    let outcome: SendOutcome;
    try {
      outcome = await this.sender.post({
        url: subscription.url,
        body,
        allowPrivate: subscription.allowPrivate || config.WEBHOOK_ALLOW_PRIVATE_ENDPOINTS,
        timeoutMs: config.WEBHOOK_RESPONSE_TIMEOUT_MS,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'wal-event-pipeline-webhooks/0.1',
          ...webhookHeaders(this.secrets(subscription), delivery.webhookId, Math.floor(Date.now() / 1000), body),
        },
      });
    } catch (error) {
      // Only our side throws here (a sealed secret that does not open with WEBHOOK_SECRETS_KEY, say).
      outcome = { kind: 'failed', failure: 'connection', reason: `not sent: ${printable((error as Error).message, 300)}` };
    }
    const latencyMs = Math.round(performance.now() - started);
    const judged = judgeAttempt(outcome, Date.now(), config.WEBHOOK_BACKOFF_MAX_MS);
    metrics.latency.observe({ endpoint: subscription.name }, latencyMs / 1000);
    if (judged.failure) metrics.failures.inc({ endpoint: subscription.name, class: judged.failure });
    return settlementOf(delivery, judged, latencyMs, {
      maxAttempts: config.WEBHOOK_MAX_ATTEMPTS,
      backoffBaseMs: config.WEBHOOK_BACKOFF_BASE_MS,
      backoffMaxMs: config.WEBHOOK_BACKOFF_MAX_MS,
      random: this.options.random ?? Math.random,
      nowMs: Date.now(),
    });
  }

  /**
   * Records the attempt, again and again while PostgreSQL does not answer. False when the
   * dispatcher stopped first: the delivery stays claimed until its lease ends, then is attempted
   * again (the receiver sees the same webhook-id twice).
   */
  private async settleUntilRecorded(subscription: Subscription, settlement: Settlement): Promise<boolean> {
    const { logger, pool } = this.options;
    let delayMs = SETTLE_RETRY_FIRST_MS;
    let failures = 0;
    let counted = false;
    try {
      for (; ; failures++) {
        try {
          await settle(pool, settlement.record, settlement.next);
          if (failures > 0)
            logger.info({ endpoint: subscription.name, failures }, 'recorded the webhook attempt after PostgreSQL came back');
          return true;
        } catch (error) {
          if (!counted) {
            counted = true;
            this.unsettled++;
          }
          if (this.stopped) {
            logger.warn(
              { err: error, endpoint: subscription.name, eventId: settlement.record.eventId },
              'stopping before the webhook attempt could be recorded: it is attempted again once its claim expires',
            );
            return false;
          }
          // Once, then every 20th time: an outage of minutes says so without a line every few seconds.
          if (failures % 20 === 0) {
            logger.warn(
              { err: error, endpoint: subscription.name, eventId: settlement.record.eventId, retryInMs: delayMs },
              `could not record a webhook attempt (${(error as Error).message}): is PostgreSQL reachable? Trying again; nothing new is claimed meanwhile`,
            );
          }
          await sleep(delayMs, this.stopping.signal);
          delayMs = Math.min(SETTLE_RETRY_MAX_MS, delayMs * 2);
        }
      }
    } finally {
      if (counted) this.unsettled--;
    }
  }

  /** Metrics, logs and the admins' alert once the attempt is recorded. */
  private async afterSettled(subscription: Subscription, delivery: DueDelivery, settlement: Settlement): Promise<void> {
    const { metrics, logger } = this.options;
    const { record } = settlement;
    metrics.attempts.inc({ endpoint: subscription.name, verdict: record.verdict });
    if (settlement.deadReason !== undefined) {
      await this.dead(subscription, delivery, settlement.deadReason);
    } else if (settlement.next.disable) {
      logger.warn(
        { endpoint: subscription.name },
        `webhook subscription ${subscription.name} disabled: ${settlement.next.disable} (\`pipeline webhooks enable\` resumes it)`,
      );
    } else if (settlement.retryInMs !== undefined) {
      logger.info(
        { endpoint: subscription.name, eventId: delivery.eventId, delayMs: settlement.retryInMs },
        `webhook to ${subscription.name} failed (${record.error}): retrying`,
      );
    } else if (delivery.committedAt) {
      metrics.commitToDelivered.observe({ endpoint: subscription.name }, (Date.now() - delivery.committedAt.getTime()) / 1000);
    }
  }

  private async dead(subscription: Subscription, delivery: DueDelivery, reason: string): Promise<void> {
    this.options.logger.error(
      { endpoint: subscription.name, eventId: delivery.eventId },
      `webhook delivery to ${subscription.name} is dead: ${reason}`,
    );
    await alertWebhookDead(
      this.options.pool,
      {
        subscription: subscription.name,
        url: subscription.url,
        eventId: delivery.eventId,
        attempts: delivery.attempts + 1,
        error: reason,
      },
      this.options.config.DLQ_ALERT_WINDOW_MS,
    ).catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not alert the admins of a dead webhook delivery'));
  }
}

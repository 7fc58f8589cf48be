import { alertWebhookDead, type Pool } from '@pipeline/db';
import type { Logger } from '@pipeline/runtime';
import type { SecretBox } from '@pipeline/webhooks';
import {
  type AttemptVerdict,
  claimDue,
  classifyResponse,
  type DueDelivery,
  nextAttemptDelayMs,
  release,
  type Subscription,
  settle,
  subscriptionsById,
  webhookHeaders,
} from '@pipeline/webhooks';
import type { Config } from './config';
import type { DispatcherMetrics } from './metrics';

/**
 * Sends what the queue holds: claims due deliveries (each the oldest pending one of its row, for
 * an endpoint that is active and not backing off), at most `maxConcurrency` in flight per
 * endpoint, and settles each attempt in the database. One endpoint that hangs or fails holds only
 * its own slots: the others are claimed and sent meanwhile.
 */
export class Dispatcher {
  private readonly inFlight = new Map<string, number>();
  private readonly sending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling = false;
  /** When each endpoint may next be sent to under its max_per_second. */
  private readonly nextSlot = new Map<string, number>();
  /** Each endpoint's max_concurrency as last read: one at its limit is left out of the next claim. */
  private readonly limits = new Map<string, number>();

  constructor(
    private readonly options: {
      pool: Pool;
      config: Config;
      box: SecretBox;
      logger: Logger;
      metrics: DispatcherMetrics;
      random?: () => number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.poll(), this.options.config.WEBHOOK_POLL_MS);
  }

  /** Stops claiming; waits for the requests in flight (each bounded by the response timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.sending]);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.stopped) return;
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

  private secrets(subscription: Subscription): string[] {
    const secrets = [this.options.box.open(subscription.secretSealed)];
    if (subscription.previousSecretSealed && subscription.previousSecretUntil && subscription.previousSecretUntil.getTime() > Date.now()) {
      secrets.push(this.options.box.open(subscription.previousSecretSealed));
    }
    return secrets;
  }

  private async send(subscription: Subscription, delivery: DueDelivery): Promise<void> {
    const { config, metrics, logger } = this.options;
    const body = JSON.stringify(delivery.payload);
    const started = performance.now();
    let verdict: AttemptVerdict;
    let statusCode: number | null = null;
    try {
      const response = await fetch(subscription.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(config.WEBHOOK_RESPONSE_TIMEOUT_MS),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'wal-event-pipeline-webhooks/0.1',
          ...webhookHeaders(this.secrets(subscription), delivery.webhookId, Math.floor(Date.now() / 1000), body),
        },
      });
      statusCode = response.status;
      // The body is not needed; reading it frees the connection for the next request.
      await response.arrayBuffer().catch(() => undefined);
      verdict = classifyResponse(response.status, response.headers.get('retry-after'), Date.now());
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      verdict = {
        kind: 'retry',
        reason: timedOut ? `no answer within ${config.WEBHOOK_RESPONSE_TIMEOUT_MS} ms` : `${e.cause?.code ?? e.name}: ${e.message}`,
      };
      metrics.failures.inc({ endpoint: subscription.name, class: timedOut ? 'timeout' : 'connection' });
    }
    const latencyMs = Math.round(performance.now() - started);
    metrics.latency.observe({ endpoint: subscription.name }, latencyMs / 1000);
    metrics.attempts.inc({ endpoint: subscription.name, verdict: verdict.kind });
    if (statusCode !== null && verdict.kind !== 'delivered') {
      metrics.failures.inc({ endpoint: subscription.name, class: statusCode === 429 ? '429' : statusCode >= 500 ? '5xx' : '4xx' });
    }
    const attempt = {
      deliveryId: delivery.id,
      subscriptionId: subscription.id,
      eventId: delivery.eventId,
      statusCode,
      latencyMs,
      verdict: verdict.kind,
      error: verdict.kind === 'delivered' ? null : verdict.reason,
    };
    if (verdict.kind === 'retry' && delivery.attempts + 1 >= config.WEBHOOK_MAX_ATTEMPTS) {
      await settle(
        this.options.pool,
        { ...attempt, verdict: 'dead', error: `${verdict.reason} (attempt ${delivery.attempts + 1}, the last)` },
        {},
      );
      await this.dead(subscription, delivery, `${verdict.reason} after ${delivery.attempts + 1} attempts`);
      return;
    }
    if (verdict.kind === 'retry') {
      const delay = nextAttemptDelayMs(delivery.attempts + 1, {
        baseMs: config.WEBHOOK_BACKOFF_BASE_MS,
        maxMs: config.WEBHOOK_BACKOFF_MAX_MS,
        ...(verdict.retryAfterMs === undefined ? {} : { retryAfterMs: verdict.retryAfterMs }),
        random: this.options.random ?? Math.random,
      });
      await settle(this.options.pool, attempt, { retryAt: new Date(Date.now() + delay) });
      logger.info(
        { endpoint: subscription.name, eventId: delivery.eventId, delayMs: delay },
        `webhook to ${subscription.name} failed (${verdict.reason}): retrying`,
      );
      return;
    }
    if (verdict.kind === 'disable') {
      await settle(this.options.pool, attempt, { disable: verdict.reason });
      logger.warn(
        { endpoint: subscription.name },
        `webhook subscription ${subscription.name} disabled: ${verdict.reason} (\`pipeline webhooks enable\` resumes it)`,
      );
      return;
    }
    await settle(this.options.pool, attempt, {});
    if (verdict.kind === 'dead') await this.dead(subscription, delivery, verdict.reason);
    else if (delivery.committedAt)
      metrics.commitToDelivered.observe({ endpoint: subscription.name }, (Date.now() - delivery.committedAt.getTime()) / 1000);
  }

  private async dead(subscription: Subscription, delivery: DueDelivery, reason: string): Promise<void> {
    this.options.logger.error(
      { endpoint: subscription.name, eventId: delivery.eventId },
      `webhook delivery to ${subscription.name} is dead: ${reason}`,
    );
    await alertWebhookDead(this.options.pool, {
      subscription: subscription.name,
      url: subscription.url,
      eventId: delivery.eventId,
      attempts: delivery.attempts + 1,
      error: reason,
    }).catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not alert the admins of a dead webhook delivery'));
  }
}

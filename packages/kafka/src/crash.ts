import type { Consumer } from 'kafkajs';
import { isBrokerUnreachable } from './transient';

/**
 * Calls `onGone` when kafkajs reports that a consumer crashed and will not restart itself
 * (`consumer.crash` with `restart: false`, for errors it does not consider retriable). From then
 * on nothing consumes: the process must act, for example exit so its supervisor restarts it.
 * Crashes kafkajs restarts from (broker away, retries exhausted) are left to it.
 */
export function onUnrecoverableCrash(
  consumer: Pick<Consumer, 'on' | 'events'>,
  onGone: (error: Error, groupId: string) => void,
): () => void {
  return consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) onGone(payload.error, payload.groupId);
  });
}

/**
 * A crash kafkajs will not restart from although waiting would cure it: the group coordinator not
 * found (kafkajs marks it not retriable; seen after a broker restart, while the coordinator loads
 * the offsets topic: kafkajs issues #1445 and #1630), or brokers that cannot be reached.
 */
export function isPassingCrash(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current; depth++) {
    if ((current as { name?: unknown }).name === 'KafkaJSGroupCoordinatorNotFound') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return isBrokerUnreachable(error);
}

export interface CrashHandling {
  /** Starts the crashed consumer again (connect and run as before); a failure is another crash to wait out. */
  restart: () => Promise<void>;
  /** A crash waiting cannot cure: the process must act. */
  onGone: (error: Error, groupId: string) => void;
  /** Told of each passing crash and the pause before the next start. */
  onPassing?: (error: Error, groupId: string, delayMs: number) => void;
  /** True once the owner stops: nothing is restarted then. */
  stopping: () => boolean;
  /** Pause before the n-th restart in a row, ms (doubling from 1 s, at most 15 s by default). */
  delayMs?: (attempt: number) => number;
}

/**
 * Like `onUnrecoverableCrash`, but a passing crash (`isPassingCrash`) restarts the consumer after a
 * pause instead: a broker restart must not end a service, nor send it into a crash loop its
 * supervisor gives up on (found by the chaos run, issue 27: the order-processor's retry consumer
 * crashed with "Failed to find group coordinator" after a broker restart, and the service exited).
 */
export function superviseCrashes(consumer: Pick<Consumer, 'on' | 'events'>, handling: CrashHandling): () => void {
  const delay = handling.delayMs ?? ((attempt: number) => Math.min(15_000, 1_000 * 2 ** (attempt - 1)));
  let attempt = 0;
  let timer: NodeJS.Timeout | undefined;
  const offStart = consumer.on(consumer.events.GROUP_JOIN, () => {
    attempt = 0;
  });
  const offCrash = consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart || handling.stopping()) return;
    if (!isPassingCrash(payload.error)) {
      handling.onGone(payload.error, payload.groupId);
      return;
    }
    attempt += 1;
    const pause = delay(attempt);
    handling.onPassing?.(payload.error, payload.groupId, pause);
    const again = (): void => {
      timer = undefined;
      if (handling.stopping()) return;
      handling.restart().catch((error: Error) => {
        if (handling.stopping()) return;
        if (!isPassingCrash(error)) return handling.onGone(error, payload.groupId);
        attempt += 1;
        const next = delay(attempt);
        handling.onPassing?.(error, payload.groupId, next);
        timer = setTimeout(again, next);
      });
    };
    timer = setTimeout(again, pause);
  });
  return () => {
    if (timer) clearTimeout(timer);
    offStart();
    offCrash();
  };
}

import type { Consumer } from 'kafkajs';

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

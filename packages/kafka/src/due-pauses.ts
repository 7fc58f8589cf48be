import type { Consumer } from 'kafkajs';

/**
 * Partitions of the retry topics paused until their next copy is due, each resumed by a timer.
 * A resume that comes while the consumer is not running (it crashed and is being started again)
 * is dropped: the started consumer has nothing paused. Thrown from a timer, kafkajs's "Consumer
 * group was not initialized" ended the order-processor (found by the chaos run, issue 27).
 */
export class DuePauses {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly consumer: Pick<Consumer, 'pause' | 'resume'>,
    private readonly paused: { inc(): void; dec(): void; set(value: number): void },
  ) {}

  /** Pauses `partition` of `topic`, and resumes it after `waitMs`. */
  pauseFor(topic: string, partition: number, waitMs: number): void {
    const target = [{ topic, partitions: [partition] }];
    this.consumer.pause(target);
    this.paused.inc();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.paused.dec();
      try {
        this.consumer.resume(target);
      } catch {
        // Not running (crashed, starting again): nothing of it is paused any more.
      }
    }, waitMs);
    this.timers.add(timer);
  }

  /** Forgets every pending resume (the runner stops). */
  clear(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.paused.set(0);
  }
}

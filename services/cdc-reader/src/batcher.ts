import type { Message, Producer, TopicMessages } from 'kafkajs';

/**
 * Buffers encoded events and sends them in batches, one request at a time, in order: kafkajs's
 * idempotent producer can reorder concurrent sends (SHARP_EDGES), so a send starts only after the
 * previous one was acknowledged. One batch fills while the previous one is in flight, so memory
 * holds at most two batches.
 */
export class EventBatcher {
  private buffer = new Map<string, Message[]>();
  private bufferedBytes = 0;
  private bufferedCount = 0;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly producer: Producer,
    /** Bytes that make a batch; kept under the broker's per-partition batch limit (1 MB by default). */
    private readonly maxBatchBytes: number,
    private readonly onSent: (bytes: number, count: number) => void = () => undefined,
  ) {}

  /** Adds one message; waits when a full batch must go out while the previous one is still in flight. */
  async add(topic: string, message: Message, bytes: number): Promise<void> {
    const list = this.buffer.get(topic);
    if (list) list.push(message);
    else this.buffer.set(topic, [message]);
    this.bufferedBytes += bytes;
    this.bufferedCount++;
    if (this.bufferedBytes >= this.maxBatchBytes) await this.startSend();
  }

  /** Sends whatever is buffered and waits until Kafka acknowledged everything added so far. */
  async drain(): Promise<void> {
    if (this.bufferedCount > 0) await this.startSend();
    await this.inFlight;
  }

  get isEmpty(): boolean {
    return this.bufferedCount === 0 && this.inFlight === undefined;
  }

  get pendingBytes(): number {
    return this.bufferedBytes;
  }

  private async startSend(): Promise<void> {
    // The previous batch must be acknowledged first; its failure surfaces here.
    await this.inFlight;
    const topicMessages: TopicMessages[] = [...this.buffer].map(([topic, messages]) => ({ topic, messages }));
    const bytes = this.bufferedBytes;
    const count = this.bufferedCount;
    this.buffer = new Map();
    this.bufferedBytes = 0;
    this.bufferedCount = 0;
    const send = this.producer.sendBatch({ topicMessages, acks: -1 }).then(() => {
      this.onSent(bytes, count);
      if (this.inFlight === send) this.inFlight = undefined;
    });
    // Surfaced by the next add/drain; never an unhandled rejection in between.
    send.catch(() => undefined);
    this.inFlight = send;
  }
}

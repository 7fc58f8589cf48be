import { RECORD_BATCH_OVERHEAD_BYTES } from '@pipeline/kafka';
import type { CompressionTypes, Message, Producer, TopicMessages } from 'kafkajs';

/** A WAL position that becomes safe to confirm once every event added before it is acknowledged. */
interface Position {
  lsn: bigint;
  /** Commit times (µs since the epoch) of the transactions that end at or before it, for latency. */
  commitMicros: bigint[];
}

export interface EventBatcherOptions {
  producer: Producer;
  /** Bytes that make a request: it is sent once this much is buffered. */
  maxBatchBytes: number;
  /**
   * What one topic's records in one request may add up to (its max.message.bytes, applied by the
   * broker to each partition's record batch): a record that would take a topic past it goes in the
   * next request, so a large record travels in a batch of its own.
   */
  topicBatchBytes: (topic: string) => number;
  /** Producer compression (gzip), or none. */
  compression?: CompressionTypes;
  /** How long a batch holding a committed transaction may wait for more before it is sent, ms. */
  lingerMs: number;
  onSent?: (bytes: number, count: number) => void;
  /** A position is safe: all events before it were acknowledged by Kafka. Called in LSN order. */
  onSafe: (lsn: bigint, commitMicros: bigint[]) => void;
  /** A send failed (with what it sent); nothing after it is ever reported safe. */
  onError: (error: unknown, topicMessages: readonly TopicMessages[]) => void;
}

/**
 * Buffers encoded events and sends them in batches, one request at a time, in order: kafkajs's
 * idempotent producer can reorder concurrent sends (kafkajs issues #598 and #980), so a send starts only after the
 * previous one was acknowledged. Reading goes on while a batch is in flight; memory holds at most
 * the batch being filled and the one in flight. Transaction ends (and heartbeats) are marked as
 * positions and reported safe when the batch that holds their last event is acknowledged, so many
 * small transactions share one round trip instead of waiting for one each.
 */
export class EventBatcher {
  private buffer = new Map<string, Message[]>();
  /** Bytes buffered per topic, each topic's batch header included. */
  private topicBytes = new Map<string, number>();
  private bufferedBytes = 0;
  private bufferedCount = 0;
  private bufferPosition: Position | undefined;
  private inFlight: Promise<void> | undefined;
  private inFlightPosition: Position | undefined;
  private linger: NodeJS.Timeout | undefined;
  private failed: unknown;

  constructor(private readonly options: EventBatcherOptions) {}

  /** Adds one message; waits when a full batch must go out while the previous one is still in flight. */
  async add(topic: string, message: Message, bytes: number): Promise<void> {
    this.throwIfFailed();
    const inTopic = this.topicBytes.get(topic) ?? RECORD_BATCH_OVERHEAD_BYTES;
    if (inTopic > RECORD_BATCH_OVERHEAD_BYTES && inTopic + bytes > this.options.topicBatchBytes(topic)) await this.send();
    this.topicBytes.set(topic, (this.topicBytes.get(topic) ?? RECORD_BATCH_OVERHEAD_BYTES) + bytes);
    const list = this.buffer.get(topic);
    if (list) list.push(message);
    else this.buffer.set(topic, [message]);
    this.bufferedBytes += bytes;
    this.bufferedCount++;
    if (this.bufferedBytes >= this.options.maxBatchBytes) await this.send();
  }

  /** Everything added so far is safe at `lsn` once acknowledged (a commit end, a heartbeat). */
  markPosition(lsn: bigint, commitMicros?: bigint): void {
    this.throwIfFailed();
    const times = commitMicros === undefined ? [] : [commitMicros];
    if (this.bufferedCount > 0) {
      this.bufferPosition = merge(this.bufferPosition, lsn, times);
      this.linger ??= setTimeout(() => {
        this.linger = undefined;
        this.send().catch(() => undefined);
      }, this.options.lingerMs);
    } else if (this.inFlight) {
      this.inFlightPosition = merge(this.inFlightPosition, lsn, times);
    } else {
      this.options.onSafe(lsn, times);
    }
  }

  /** Sends whatever is buffered and waits until Kafka acknowledged everything added so far. */
  async drain(): Promise<void> {
    if (this.bufferedCount > 0) await this.send();
    await this.inFlight;
    this.throwIfFailed();
  }

  get isIdle(): boolean {
    return this.bufferedCount === 0 && this.inFlight === undefined;
  }

  private throwIfFailed(): void {
    if (this.failed !== undefined) throw this.failed;
  }

  private async send(): Promise<void> {
    clearTimeout(this.linger);
    this.linger = undefined;
    // The previous batch must be acknowledged first; its failure surfaces here.
    await this.inFlight;
    this.throwIfFailed();
    if (this.bufferedCount === 0) return;
    const topicMessages: TopicMessages[] = [...this.buffer].map(([topic, messages]) => ({ topic, messages }));
    const bytes = this.bufferedBytes;
    const count = this.bufferedCount;
    this.buffer = new Map();
    this.topicBytes = new Map();
    this.bufferedBytes = 0;
    this.bufferedCount = 0;
    this.inFlightPosition = this.bufferPosition;
    this.bufferPosition = undefined;
    const send: Promise<void> = this.options.producer
      .sendBatch({
        topicMessages,
        acks: -1,
        ...(this.options.compression === undefined ? {} : { compression: this.options.compression }),
      })
      .then(
        () => {
          this.options.onSent?.(bytes, count);
          const position = this.inFlightPosition;
          this.inFlightPosition = undefined;
          if (this.inFlight === send) this.inFlight = undefined;
          if (position) this.options.onSafe(position.lsn, position.commitMicros);
        },
        (error: unknown) => {
          this.failed = error;
          this.inFlightPosition = undefined;
          this.options.onError(error, topicMessages);
          throw error;
        },
      );
    // Surfaced by the next add/drain/markPosition; never an unhandled rejection in between.
    send.catch(() => undefined);
    this.inFlight = send;
  }
}

function merge(position: Position | undefined, lsn: bigint, times: bigint[]): Position {
  if (!position) return { lsn, commitMicros: times };
  return { lsn: lsn > position.lsn ? lsn : position.lsn, commitMicros: [...position.commitMicros, ...times] };
}

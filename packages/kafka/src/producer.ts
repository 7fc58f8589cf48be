import { type Kafka, type Message, Partitioners, type Producer } from 'kafkajs';

/**
 * The project's producer: idempotent, one request in flight (kafkajs's idempotent producer can
 * reorder concurrent requests: its issues #598 and #980), and the Java client's partitioner
 * (murmur2), so a key lands on the partition every other client would pick. Callers send with
 * acks -1 (all replicas) and await each send before the next.
 */
export function makeProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
}

/**
 * The partition a message goes to among `partitions`: its own `partition` when set, else what the
 * producer's partitioner picks for its key (murmur2, as the Java client). For saying where refused
 * records were going; a keyless message has no fixed partition (undefined).
 */
export function partitionOf(topic: string, message: Message, partitions: number): number | undefined {
  if (message.partition !== undefined) return message.partition;
  if (message.key === null || message.key === undefined || partitions < 1) return undefined;
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    partitionErrorCode: 0,
    replicas: [0],
    isr: [0],
  }));
  return Partitioners.DefaultPartitioner()({ topic, partitionMetadata, message });
}

/** The topics and partitions a set of messages goes to, sorted: where a refused request was going. */
export function targetsOf(
  topicMessages: readonly { topic: string; messages: readonly Message[] }[],
  partitions: (topic: string) => number,
): { topic: string; partitions: number[] }[] {
  const byTopic = new Map<string, Set<number>>();
  for (const { topic, messages } of topicMessages) {
    const set = byTopic.get(topic) ?? new Set<number>();
    for (const message of messages) {
      const partition = partitionOf(topic, message, partitions(topic));
      if (partition !== undefined) set.add(partition);
    }
    byTopic.set(topic, set);
  }
  return [...byTopic].sort(([a], [b]) => a.localeCompare(b)).map(([topic, set]) => ({ topic, partitions: [...set].sort((a, b) => a - b) }));
}

import { type Kafka, Partitioners, type Producer } from 'kafkajs';

/**
 * The project's producer: idempotent, one request in flight (kafkajs's idempotent producer can
 * reorder concurrent requests: its issues #598 and #980), and the Java client's partitioner
 * (murmur2), so a key lands on the partition every other client would pick. Callers send with
 * acks -1 (all replicas) and await each send before the next.
 */
export function makeProducer(kafka: Kafka): Producer {
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
}

import { type Kafka, KafkaJSProtocolError } from 'kafkajs';
import { type DeadLetter, sendToRedrive } from './dead-letters';
import { ProduceRefusedError } from './refusal';

/** A stand-in client whose producer's sends fail with `error` (the refusal is sorted, not the transport). */
function refusingKafka(error: Error): Kafka {
  const producer = { connect: async () => undefined, disconnect: async () => undefined, send: async () => Promise.reject(error) };
  return { producer: () => producer } as unknown as Kafka;
}

const letter = { partition: 0, offset: '7', key: null, value: Buffer.from('{}'), headers: {} } as unknown as DeadLetter;

describe('redriving dead letters', () => {
  it('a refusal no retry passes says where and what to do', async () => {
    const invalid = new KafkaJSProtocolError({
      message: 'This record has failed the validation on broker and hence be rejected',
      type: 'INVALID_RECORD',
      code: 87,
      retriable: false,
    } as never);
    const sent = sendToRedrive(refusingKafka(invalid), 'order-processor', [letter], 'ada');
    await expect(sent).rejects.toBeInstanceOf(ProduceRefusedError);
    await expect(sent).rejects.toThrow(
      /^Kafka refused the redriven letters for order-processor\.redrive: INVALID_RECORD \(This record has failed the validation on broker and hence be rejected\)\. Retrying cannot help: the brokers validated the records and refused them: a compacted topic/,
    );
  });

  it('anything else is passed on as it is, to be tried again', async () => {
    const away = new Error('Connection closed');
    await expect(sendToRedrive(refusingKafka(away), 'order-processor', [letter], 'ada')).rejects.toBe(away);
  });
});

import { type Envelope, edgeEnvelope, encodeSingleObject, envelopeSchema, firstEdgeRow, type OrdersRow } from '@pipeline/schemas';
import type { Message } from 'kafkajs';

const orders = envelopeSchema('public.orders');

/** An order insert as the cdc-reader writes it: Avro single-object value, event-id header. */
export function orderCreated(eventId: string, id = 1): { envelope: Envelope<OrdersRow>; message: Message } {
  const after: OrdersRow = { ...firstEdgeRow('public.orders'), id: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}` };
  const envelope = { ...edgeEnvelope<OrdersRow>('public.orders', 'c', null, after), eventId };
  return {
    envelope,
    message: { key: after.id, value: encodeSingleObject(orders, envelope), headers: { 'event-id': eventId } },
  };
}

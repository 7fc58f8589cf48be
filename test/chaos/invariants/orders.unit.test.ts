import type { Letter, Observation } from './observation';
import { oneEmailEach, ordersSettled } from './orders';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const C = '00000000-0000-4000-8000-00000000000c';
/** The letter the effects ledger leaves for a send cut off between SES and the ledger. */
const cutOff = (order: string): Letter => ({
  topic: 'order-processor.dlq',
  code: 'EFFECT_UNRECORDED',
  message: `effect email:confirmation for "order:${order}" was claimed at … but never recorded`,
  eventId: 'e',
});

function observation(partial: Partial<Observation>): Observation {
  return { orders: [], actions: [], emails: [], unreadableEmails: [], letters: [], ...partial } as unknown as Observation;
}

describe('the order invariants', () => {
  it('hold for confirmed, on-hold, cancelled and shipped orders with their emails, and a send cut off with one email', () => {
    const seen = observation({
      orders: [
        { id: A, status: 'cancelled' },
        { id: B, status: 'on_hold' },
        { id: C, status: 'pending' },
      ],
      actions: [{ kind: 'cancel', subject: A, amount: 0 }],
      emails: [
        { orderId: A, kind: 'confirmation' },
        { orderId: A, kind: 'cancelled' },
        { orderId: C, kind: 'confirmation' },
      ],
      letters: [cutOff(C)],
    });
    expect([ordersSettled.check(seen), oneEmailEach.check(seen)]).toEqual([[], []]);
  });

  it('name an order left pending without a letter, a second email, and an email an on-hold order should not have', () => {
    const seen = observation({
      orders: [
        { id: A, status: 'confirmed' },
        { id: B, status: 'on_hold' },
        { id: C, status: 'pending' },
      ],
      emails: [
        { orderId: A, kind: 'confirmation' },
        { orderId: A, kind: 'confirmation' },
        { orderId: B, kind: 'confirmation' },
      ],
    });
    expect(ordersSettled.check(seen)).toEqual([
      `order ${C} is pending, neither confirmed nor on hold, and no letter says its send was cut off`,
    ]);
    expect(oneEmailEach.check(seen)).toEqual([
      `order ${A} (confirmed) has 2 confirmation emails in the SES store; expected 1`,
      `order ${B} (on_hold) has 1 confirmation email in the SES store; expected 0`,
    ]);
  });
});

import type { Pool } from '@pipeline/db';
import type { SubscriptionFilter } from '@pipeline/webhooks';
import type { LogLine } from '../../../packages/cli/src/__tests__/pipeline-run';
import type { CapturedEvent, WitnessedTransaction } from '../capture';
import type { ChaosReceiver } from '../receiver';

/** What an email in the SES endpoint's store is about. */
export type EmailKind = 'confirmation' | 'shipped' | 'cancelled';

/** A dead letter of any service, as the invariants read it. */
export interface Letter {
  topic: string;
  code: string;
  message: string;
  eventId: string | undefined;
}

/** A receiver and the subscription that points at it. */
export interface Subscribed {
  receiver: ChaosReceiver;
  subscriptionId: string;
  filter: SubscriptionFilter;
}

/**
 * Everything the invariants judge, gathered once the pipeline is quiet: the database's rows, the
 * SES store, the topics read back, the witness slot's transactions, the receivers' requests and
 * every line the services wrote.
 */
export interface Observation {
  pool: Pool;
  runId: string;
  /** The run's items and their quantity before the first order. */
  initial: ReadonlyMap<string, number>;
  /** The run's orders (every order of a run customer, as the database has them). */
  orders: { id: string; status: string }[];
  /** What the workload asked for, as committed with the asking. */
  actions: { kind: 'cancel' | 'ship' | 'restock'; subject: string; amount: number }[];
  /** Emails to the run's customers, by the order and kind their subject names. */
  emails: { orderId: string; kind: EmailKind }[];
  /** Emails to the run's customers whose subject names no order or kind (each one a violation). */
  unreadableEmails: string[];
  letters: Letter[];
  events: CapturedEvent[];
  witnessed: WitnessedTransaction[];
  subscriptions: Subscribed[];
  lines: LogLine[];
  /** Services the harness SIGKILLed (the schedule's kills, and the SES fault's). */
  killed: { service: string; pid: number }[];
}

/** One guarantee, checked against an observation: the violations it finds, described (empty: it holds). */
export interface Invariant {
  name: string;
  check(observation: Observation): Promise<string[]> | string[];
}

/** The orders an `EFFECT_UNRECORDED` letter names: a send cut off between SES and the ledger. */
export function unrecordedOrders(letters: readonly Letter[]): Set<string> {
  const orders = new Set<string>();
  for (const letter of letters) {
    if (letter.code !== 'EFFECT_UNRECORDED') continue;
    const order = /order:([0-9a-f-]{36})/.exec(letter.message)?.[1];
    if (order) orders.add(order);
  }
  return orders;
}

/** At most `limit` violations listed, and how many more there were. */
export function firstOf(violations: string[], limit = 5): string[] {
  return violations.length <= limit ? violations : [...violations.slice(0, limit), `… and ${violations.length - limit} more`];
}

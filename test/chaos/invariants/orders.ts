import { type EmailKind, firstOf, type Invariant, type Observation, unrecordedOrders } from './observation';

/** The status the workload asked an order to end in, if any (cancel or ship, committed with the asking). */
function asked(observation: Observation): Map<string, string> {
  const wanted = new Map<string, string>();
  for (const action of observation.actions) {
    if (action.kind === 'cancel') wanted.set(action.subject, 'cancelled');
    if (action.kind === 'ship') wanted.set(action.subject, 'shipped');
  }
  return wanted;
}

/** Every order ends confirmed or on hold, or as the workload asked; pending only when its send was cut off (and a letter says so). */
export const ordersSettled: Invariant = {
  name: 'orders settled',
  check(observation) {
    const wanted = asked(observation);
    const unrecorded = unrecordedOrders(observation.letters);
    const violations: string[] = [];
    for (const order of observation.orders) {
      const want = wanted.get(order.id);
      if (want !== undefined) {
        if (order.status !== want) violations.push(`order ${order.id} is ${order.status}; the workload made it ${want}`);
      } else if (order.status === 'pending' && unrecorded.has(order.id)) {
        // Its confirmation was cut off between SES and the ledger: a person decides (the letter says how).
      } else if (order.status !== 'confirmed' && order.status !== 'on_hold') {
        violations.push(`order ${order.id} is ${order.status}, neither confirmed nor on hold, and no letter says its send was cut off`);
      }
    }
    return firstOf(violations);
  },
};

/** The emails an order in `status` must have had, one of each. */
function owed(status: string): EmailKind[] {
  switch (status) {
    case 'confirmed':
      return ['confirmation'];
    case 'shipped':
      return ['confirmation', 'shipped'];
    case 'cancelled':
      return ['confirmation', 'cancelled'];
    default:
      return [];
  }
}

/**
 * One email of each kind an order's history owes, none of any other: the confirmation for every
 * order that was confirmed, the shipped or cancelled one after it. An order whose send was cut off
 * between SES and the ledger has at most one of each (its letter names it).
 */
export const oneEmailEach: Invariant = {
  name: 'one email per order and kind',
  check(observation) {
    const unrecorded = unrecordedOrders(observation.letters);
    const counts = new Map<string, number>();
    for (const email of observation.emails)
      counts.set(`${email.orderId} ${email.kind}`, (counts.get(`${email.orderId} ${email.kind}`) ?? 0) + 1);
    const violations = observation.unreadableEmails.map(
      (subject) => `an email to a run customer names no order: ${JSON.stringify(subject)}`,
    );
    const known = new Set(observation.orders.map((order) => order.id));
    for (const email of observation.emails) {
      if (!known.has(email.orderId)) violations.push(`a ${email.kind} email for order ${email.orderId}, which is not the run's`);
    }
    for (const order of observation.orders) {
      const due = owed(order.status);
      for (const kind of ['confirmation', 'shipped', 'cancelled'] as const) {
        const got = counts.get(`${order.id} ${kind}`) ?? 0;
        const want = due.includes(kind) ? 1 : 0;
        if (unrecorded.has(order.id) ? got > 1 : got !== want) {
          violations.push(
            `order ${order.id} (${order.status}) has ${got} ${kind} email${got === 1 ? '' : 's'} in the SES store; ` +
              `expected ${unrecorded.has(order.id) ? 'at most 1 (its send was cut off)' : want}`,
          );
        }
      }
    }
    return firstOf(violations);
  },
};

/**
 * Each item's stock is its quantity before the first order, less what confirmed orders reserved,
 * plus what cancelled ones returned and the workload restocked: reserved once, returned once.
 */
export const stockBalances: Invariant = {
  name: 'stock balances',
  async check(observation) {
    const reserving = observation.orders.filter((o) => ['confirmed', 'shipped', 'cancelled'].includes(o.status)).map((o) => o.id);
    const returning = observation.orders.filter((o) => o.status === 'cancelled').map((o) => o.id);
    // A pending order whose send was cut off kept what it reserved (the step before the email).
    const cutOff = [...unrecordedOrders(observation.letters)].filter((id) =>
      observation.orders.some((o) => o.id === id && o.status === 'pending'),
    );
    const sums = async (sql: string, params: unknown[]) => {
      const { rows } = await observation.pool.query<{ item: string; n: number }>(sql, params);
      return new Map(rows.map((row) => [row.item, row.n]));
    };
    const itemsOf = `SELECT inventory_id::text AS item, sum(quantity)::int AS n FROM order_items WHERE order_id = ANY($1::uuid[]) GROUP BY 1`;
    const reserved = await sums(itemsOf, [reserving]);
    const returned = await sums(itemsOf, [returning]);
    const kept = await sums(
      'SELECT inventory_id::text AS item, sum(quantity)::int AS n FROM stock_reservations WHERE order_id = ANY($1::uuid[]) GROUP BY 1',
      [cutOff],
    );
    const restocked = new Map<string, number>();
    for (const action of observation.actions) {
      if (action.kind === 'restock') restocked.set(action.subject, (restocked.get(action.subject) ?? 0) + action.amount);
    }
    const now = await sums('SELECT id::text AS item, quantity AS n FROM inventory WHERE id = ANY($1::uuid[])', [
      [...observation.initial.keys()],
    ]);
    const violations: string[] = [];
    for (const [item, initial] of observation.initial) {
      const parts = {
        reserved: reserved.get(item) ?? 0,
        kept: kept.get(item) ?? 0,
        returned: returned.get(item) ?? 0,
        restocked: restocked.get(item) ?? 0,
      };
      const expected = initial - parts.reserved - parts.kept + parts.returned + parts.restocked;
      const actual = now.get(item);
      if (actual !== expected) {
        violations.push(
          `item ${item} has ${actual} in stock; expected ${expected} = ${initial} at the start − ${parts.reserved} reserved by confirmed orders ` +
            `− ${parts.kept} by orders cut off + ${parts.returned} returned by cancelled ones + ${parts.restocked} restocked`,
        );
      }
    }
    return firstOf(violations);
  },
};

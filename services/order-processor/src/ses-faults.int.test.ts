import { eventually } from '@pipeline/testing';
import { emailsTo, type OrderStack, orderStack, orderStatus, placeOrder } from './__tests__/harness';

/**
 * SES faults through a loopback proxy that answers with SES's real XML errors or refuses
 * connections: what cannot have been sent is retried and sent once; what SES refuses is a dead
 * letter; and when the service dies after SES accepted, no second email goes out.
 */
describe('order-processor and SES faults', () => {
  let stack: OrderStack;
  beforeAll(async () => {
    stack = await orderStack('sesf');
    await stack.startProcessor();
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  const order = (name: string, email?: string) =>
    placeOrder(stack.db, { customer: { name, ...(email ? { email } : {}) }, items: [{ name: 'Widget', quantity: 1, price: '9.99' }] });
  const confirmedOnce = async (orderId: string, email: string) => {
    await eventually(`order ${orderId} confirmed`, async () =>
      (await orderStatus(stack.db, orderId)).status === 'confirmed' ? true : undefined,
    );
    expect(await emailsTo(email)).toHaveLength(1);
  };

  it('throttled, 503 and refused sends are retried and sent once', async () => {
    stack.proxy.failNext('Throttling');
    const throttled = await order('Throttled');
    await confirmedOnce(throttled.orderId, throttled.email);

    stack.proxy.failNext('ServiceUnavailable');
    const unavailable = await order('Unavailable');
    await confirmedOnce(unavailable.orderId, unavailable.email);

    await stack.proxy.refuse();
    const refused = await order('Refused');
    await eventually('a refused send retried', async () => {
      const { rows } = await stack.db.pool.query(
        `SELECT 1 FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'retried' AND error LIKE '%ECONNREFUSED%'`,
        [stack.group],
      );
      return rows.length > 0 ? true : undefined;
    });
    await stack.proxy.accept();
    await confirmedOnce(refused.orderId, refused.email);

    await stack.settled();
    const { rows } = await stack.db.pool.query<{ error: string; attempt: number }>(
      `SELECT error, attempt FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'retried' ORDER BY id`,
      [stack.group],
    );
    expect(rows.map((row) => row.error.replace(/: .*$/s, ''))).toEqual(expect.arrayContaining(['EFFECT_NOT_PERFORMED']));
    expect(rows.some((row) => /SES did not send the email to .*: Throttling: Maximum sending rate exceeded\./.test(row.error))).toBe(true);
    expect(rows.some((row) => /: ServiceUnavailable: Service is unavailable/.test(row.error))).toBe(true);
    for (const { email } of [throttled, unavailable, refused]) expect(await emailsTo(email)).toHaveLength(1);
    // Nothing left claimed in the ledger.
    expect((await stack.db.pool.query(`SELECT count(*)::int AS n FROM effects_ledger WHERE status = 'claimed'`)).rows).toEqual([{ n: 0 }]);
  }, 90_000);

  it('a rejected address is a dead letter with SES’s error, and the orders after it go on', async () => {
    const rejectedAddress = `rejected-${Date.now()}@example.com`;
    stack.proxy.reject(rejectedAddress);
    const rejected = await order('Rejected', rejectedAddress);
    const after = await order('After the rejected one');
    await confirmedOnce(after.orderId, after.email);
    const letter = await eventually('the dead letter', async () => {
      const { rows } = await stack.db.pool.query<{ error: string; attempt: number }>(
        `SELECT error, attempt FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'dead_lettered' AND error LIKE '%' || $2 || '%'`,
        [stack.group, rejectedAddress],
      );
      return rows[0];
    });
    expect(letter).toEqual({
      attempt: 1,
      error: `EFFECT_NOT_PERFORMED: SES did not send the email to ${rejectedAddress}: MessageRejected: Email address is not verified. The following identities failed the check in region US-EAST-1: ${rejectedAddress}`,
    });
    expect((await orderStatus(stack.db, rejected.orderId)).status).toBe('pending');
    expect(await emailsTo(rejectedAddress)).toEqual([]);
  }, 60_000);

  it('an SES request that times out after it was sent: no retry, the claim stays, a dead letter says the email may have been sent', async () => {
    const answered = stack.proxy.holdNextAnswer();
    const slow = await order('Slow answer');
    await answered;
    // SES_REQUEST_TIMEOUT_MS is 3000 here: the answer comes too late.
    const letter = await eventually('the dead letter', async () => {
      const { rows } = await stack.db.pool.query<{ error: string; attempt: number }>(
        `SELECT error, attempt FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'dead_lettered' AND error LIKE 'EMAIL_OUTCOME_UNKNOWN%' AND error LIKE '%' || $2 || '%'`,
        [stack.group, slow.email],
      );
      return rows[0];
    });
    stack.proxy.release();
    expect(letter.attempt).toBe(1);
    expect(letter.error).toMatch(
      new RegExp(
        `^EMAIL_OUTCOME_UNKNOWN: the email to ${slow.email} may have been sent: SES did not answer \\(ETIMEDOUT: .*requestTimeout.*\\)\\. Check whether it arrived`,
      ),
    );
    expect(letter.error).toContain(
      `\`pipeline effects mark-recorded "order:${slow.orderId}" --effect email:confirmation --ref MESSAGE_ID\``,
    );
    const { rows: claims } = await stack.db.pool.query(`SELECT status FROM effects_ledger WHERE effect_key = $1`, [
      `order:${slow.orderId}`,
    ]);
    expect(claims).toEqual([{ status: 'claimed' }]);
    expect(await emailsTo(slow.email)).toHaveLength(1);
    expect((await orderStatus(stack.db, slow.orderId)).status).toBe('pending');
  }, 60_000);

  it('killed after SES accepted and before the send was recorded: no second email; a dead letter says what to check', async () => {
    const answered = stack.proxy.holdNextAnswer();
    const held = await order('Kill window');
    await answered;
    await stack.processors[0]?.kill();
    stack.proxy.release();
    expect(await emailsTo(held.email)).toHaveLength(1);

    stack.processors.splice(0, 1);
    await stack.startProcessor();
    const letter = await eventually(
      'the dead letter',
      async () => {
        const { rows } = await stack.db.pool.query<{ error: string }>(
          `SELECT error FROM event_outcomes WHERE consumer_group = $1 AND outcome = 'dead_lettered' AND error LIKE 'EFFECT_UNRECORDED%' AND error LIKE '%' || $2 || '%'`,
          [stack.group, held.orderId],
        );
        return rows[0]?.error;
      },
      60_000,
    );
    expect(letter).toContain(`effect email:confirmation for order:${held.orderId} was claimed at`);
    expect(letter).toContain(
      'it may or may not have happened. Check the provider, then say what happened: `pipeline effects mark-recorded',
    );
    await stack.settled();
    expect(await emailsTo(held.email)).toHaveLength(1);
    expect((await orderStatus(stack.db, held.orderId)).status).toBe('pending');
  }, 120_000);
});

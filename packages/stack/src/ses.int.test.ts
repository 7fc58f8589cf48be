import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { sharedStack, uniqueName } from '@pipeline/testing';

interface StoredEmail {
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
  messageId: string;
}

describe('the local SES endpoint', () => {
  it('accepts an email through @aws-sdk/client-ses and shows it back at /store', async () => {
    const endpoint = sharedStack().endpoints.sesEndpoint;
    const ses = new SESClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      // No automatic retries of a send (docs/architecture.md, "External effects"), and a deadline.
      maxAttempts: 1,
      requestHandler: { requestTimeout: 5_000 },
    });
    const subject = `Order confirmed ${uniqueName('o')} — Zażółć gęślą jaźń`;
    const sent = await ses.send(
      new SendEmailCommand({
        Source: 'orders@example.com',
        Destination: { ToAddresses: ['łukasz@example.com'] },
        Message: {
          Subject: { Data: subject, Charset: 'UTF-8' },
          Body: { Text: { Data: 'Thank you for your order.', Charset: 'UTF-8' } },
        },
      }),
    );
    expect(sent.MessageId).toEqual(expect.any(String));

    const response = await fetch(`${endpoint}/store`);
    const store = (await response.json()) as { emails: StoredEmail[] };
    const found = store.emails.find((email) => email.subject === subject);
    expect(found).toMatchObject({
      from: 'orders@example.com',
      destination: { to: ['łukasz@example.com'] },
      body: { text: 'Thank you for your order.' },
    });
    ses.destroy();
  });
});

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** The prefix of a Standard Webhooks secret: `whsec_` then base64 of the key's bytes. */
export const SECRET_PREFIX = 'whsec_';

/** A new endpoint secret: 32 random bytes, as receivers' libraries expect it. */
export function newSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The key bytes of a `whsec_…` secret. */
export function secretKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('a webhook secret starts with whsec_ followed by base64');
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  if (key.length < 24) throw new Error('a webhook secret holds at least 24 bytes (32 when made here)');
  return key;
}

/**
 * `webhook-id`: the same for a subscription and an event on every attempt and every redelivery,
 * so receivers can drop duplicates; different per subscription.
 */
export function webhookId(subscriptionId: string, eventId: string): string {
  return `msg_${createHash('sha256').update(`${subscriptionId}\n${eventId}`).digest('base64url').slice(0, 32)}`;
}

/** One `v1,<base64>` signature: HMAC-SHA256 over `id.timestamp.body` with the secret's key bytes. */
export function signature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The three Standard Webhooks headers; during a rotation `secrets` holds the new and the old one (both sign). */
export function webhookHeaders(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string } {
  if (secrets.length === 0) throw new Error('a webhook is signed with at least one secret');
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': secrets.map((secret) => signature(secret, id, timestampSeconds, body)).join(' '),
  };
}

/**
 * A receiver's check, as the specification describes it (the `standardwebhooks` package does the
 * same): one of the space-separated `v1,` signatures matches, and the timestamp is within
 * `toleranceSeconds` of now. For tests and the CLI's `test` command.
 */
export function verify(
  secret: string,
  headers: { 'webhook-id': string; 'webhook-timestamp': string; 'webhook-signature': string },
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers['webhook-timestamp']);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signature(secret, headers['webhook-id'], timestamp, body));
  return headers['webhook-signature']
    .split(' ')
    .map((s) => Buffer.from(s))
    .some((given) => given.length === expected.length && timingSafeEqual(given, expected));
}

import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { SecretBox } from './secret-box';

const key = Buffer.alloc(32, 7).toString('base64');
const owner = '6f1c2a9e-0000-4000-8000-000000000001';

/** A seal as the box wrote them before seals were bound to their subscription. */
function sealV1(plain: string, tagBytes = 16): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(key, 'base64'), iv, { authTagLength: tagBytes });
  const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), sealed.toString('base64')].join(':');
}

describe('sealed secrets', () => {
  const box = new SecretBox(key);

  it('opens what it sealed for the same subscription, with the same key only', () => {
    const sealed = box.seal('whsec_abc', owner);
    expect(sealed).toMatch(/^v2:/);
    expect(sealed).not.toContain('whsec_abc');
    expect(box.open(sealed, owner)).toBe('whsec_abc');
    expect(() => new SecretBox(Buffer.alloc(32, 8).toString('base64')).open(sealed, owner)).toThrow(
      'a webhook secret does not open with WEBHOOK_SECRETS_KEY: is it the key the secrets were sealed with, and the subscription it was sealed for?',
    );
    expect(() => new SecretBox('c2hvcnQ=')).toThrow('WEBHOOK_SECRETS_KEY must be 32 bytes in base64 (`openssl rand -base64 32`)');
  });

  it('binds a seal to its subscription: copied onto another, it does not open', () => {
    const sealed = box.seal('whsec_abc', owner);
    expect(() => box.open(sealed, '6f1c2a9e-0000-4000-8000-000000000002')).toThrow('does not open');
  });

  it('still opens a v1 seal (made before the binding), for any subscription', () => {
    expect(box.open(sealV1('whsec_old'), owner)).toBe('whsec_old');
  });

  it('refuses a tag shorter than 16 bytes, which GCM alone would accept', () => {
    const short = sealV1('whsec_old', 4);
    expect(() => box.open(short, owner)).toThrow('not a sealed webhook secret: its nonce or tag is not whole');
    const [v, iv, tag = '', sealed] = box.seal('whsec_abc', owner).split(':');
    const truncated = [v, iv, Buffer.from(tag, 'base64').subarray(0, 12).toString('base64'), sealed].join(':');
    expect(() => box.open(truncated, owner)).toThrow('its nonce or tag is not whole');
  });

  it('refuses what is not a seal', () => {
    for (const text of ['', 'v1', 'v3:a:b:c', 'v2:a:b:c:d', 'whsec_abc'])
      expect(() => box.open(text, owner)).toThrow('not a sealed webhook secret');
  });

  it('never opens a tampered seal', () => {
    const sealed = box.seal('whsec_property', owner);
    fc.assert(
      fc.property(
        fc.nat({ max: sealed.length - 1 }),
        fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=:'),
        (at, char) => {
          const tampered = sealed.slice(0, at) + char + sealed.slice(at + 1);
          let opened: string | undefined;
          try {
            opened = box.open(tampered, owner);
          } catch {
            opened = undefined;
          }
          // Base64 ignores the unused bits of a last character: the same bytes may come back, never others.
          expect(opened === undefined || opened === 'whsec_property').toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

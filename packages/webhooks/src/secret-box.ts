import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * Endpoint secrets at rest: AES-256-GCM with the key from WEBHOOK_SECRETS_KEY (32 bytes, base64).
 * Stored as `v2:<iv>:<tag>:<ciphertext>` (base64 parts), bound to what it belongs to (the
 * subscription's id, as additional authenticated data): a sealed secret copied onto another
 * subscription's row does not open there. `v1:` seals (before the binding) still open. The tag
 * must be the full 16 bytes: GCM accepts shorter ones, which are easier to forge. A wrong key, a
 * wrong owner or a tampered seal fails loudly, never silently.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(keyBase64: string) {
    this.key = Buffer.from(keyBase64, 'base64');
    if (this.key.length !== 32) throw new Error('WEBHOOK_SECRETS_KEY must be 32 bytes in base64 (`openssl rand -base64 32`)');
  }

  /** Seals `plain` for `owner` (the subscription's id). */
  seal(plain: string, owner: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(owner));
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v2', iv.toString('base64'), cipher.getAuthTag().toString('base64'), sealed.toString('base64')].join(':');
  }

  /** Opens what `seal` made for `owner` (a `v1:` seal, made before seals were bound, opens for anyone). */
  open(stored: string, owner: string): string {
    const [version, ivText, tagText, sealedText, ...rest] = stored.split(':');
    if ((version !== 'v1' && version !== 'v2') || !ivText || !tagText || sealedText === undefined || rest.length > 0) {
      throw new Error('not a sealed webhook secret');
    }
    const iv = Buffer.from(ivText, 'base64');
    const tag = Buffer.from(tagText, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new Error('not a sealed webhook secret: its nonce or tag is not whole');
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(tag);
    if (version === 'v2') decipher.setAAD(aad(owner));
    try {
      return Buffer.concat([decipher.update(Buffer.from(sealedText, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new Error(
        'a webhook secret does not open with WEBHOOK_SECRETS_KEY: is it the key the secrets were sealed with, and the subscription it was sealed for?',
      );
    }
  }
}

const aad = (owner: string): Buffer => Buffer.from(`webhook-subscription:${owner}`, 'utf8');

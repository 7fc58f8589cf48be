import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';
import isEmail from 'validator/lib/isEmail';

/** What a customer's stored address comes to: the one address to send to, or why there is none. */
export type RecipientCheck = { ok: true; address: string } | { ok: false; reason: string };

/** RFC 5321 4.5.3.1: a local part of at most 64 octets, a domain of at most 255, a path of at most 256 (the address 254). */
const MAX_LOCAL_BYTES = 64;
const MAX_ADDRESS_BYTES = 254;

/**
 * A customer's address as exactly one recipient, or the reason it is not one. A mail composer
 * reads an address field as a list (`a@x, b@y`), with display names (`"Boss" <evil@y>`) and
 * groups: the field is read here with the composer's own parser (nodemailer's addressparser) and
 * must come out as one bare address equal to what is stored, then pass validator's isEmail
 * (RFC 5321 lengths, a domain with a top-level domain, no IP literal). No CR, LF or other control
 * character, no white space. A domain in Unicode is sent in its ASCII (punycode) form: SES takes
 * no SMTPUTF8 local parts, so the local part must be ASCII.
 */
export function checkRecipient(stored: string): RecipientCheck {
  if (stored.length === 0) return { ok: false, reason: 'it is empty' };
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(stored)) return { ok: false, reason: 'it contains a line break or another control character' };
  if (/\s/u.test(stored)) return { ok: false, reason: 'it contains white space' };
  const parsed = addressparser(stored);
  if (parsed.length !== 1) return { ok: false, reason: `it is a list of ${parsed.length} addresses` };
  const [one] = parsed;
  if (!one || 'group' in one) return { ok: false, reason: 'it is a group of addresses' };
  if (!one.address) return { ok: false, reason: 'it is not an address (no @)' };
  if (one.name) return { ok: false, reason: 'it has a display name' };
  if (one.address !== stored) return { ok: false, reason: 'it is not a bare address (angle brackets, comments or quoting)' };
  const at = stored.lastIndexOf('@');
  if (at <= 0 || at === stored.length - 1) return { ok: false, reason: 'it has no local part and domain around an @' };
  const local = stored.slice(0, at);
  if (!/^[\x21-\x7e]+$/.test(local)) return { ok: false, reason: 'its local part is not ASCII (SES sends no SMTPUTF8 local parts)' };
  const domain = domainToASCII(stored.slice(at + 1));
  if (!domain) return { ok: false, reason: 'its domain is not a valid domain name' };
  const address = `${local}@${domain}`;
  if (Buffer.byteLength(local) > MAX_LOCAL_BYTES)
    return { ok: false, reason: `its local part is longer than ${MAX_LOCAL_BYTES} characters` };
  if (Buffer.byteLength(address) > MAX_ADDRESS_BYTES) return { ok: false, reason: `it is longer than ${MAX_ADDRESS_BYTES} characters` };
  if (!isEmail(address, { allow_display_name: false, allow_utf8_local_part: false, require_tld: true, allow_ip_domain: false })) {
    return { ok: false, reason: 'it is not a valid address' };
  }
  return { ok: true, address };
}

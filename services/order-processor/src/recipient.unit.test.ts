import fc from 'fast-check';
import { checkRecipient } from './recipient';

describe('one recipient, checked', () => {
  it.each([
    ['ada@example.com', 'ada@example.com'],
    ['Ada.Lovelace+orders@mail.example.co.uk', 'Ada.Lovelace+orders@mail.example.co.uk'],
    ["o'brien@example.ie", "o'brien@example.ie"],
    ['jan@müller.de', 'jan@xn--mller-kva.de'],
    [`${'a'.repeat(64)}@example.com`, `${'a'.repeat(64)}@example.com`],
  ])('%j is sent to %j', (stored, address) => {
    expect(checkRecipient(stored)).toEqual({ ok: true, address });
  });

  it.each([
    ['', 'it is empty'],
    ['v@x.com, evil@y.com', 'it contains white space'],
    ['v@x.com,evil@y.com', 'it is a list of 2 addresses'],
    ['v@x.com;evil@y.com', 'it is a list of 2 addresses'],
    ['"Boss"<evil@y.com>', 'it has a display name'],
    ['<evil@y.com>', 'it is not a bare address (angle brackets, comments or quoting)'],
    ['friends:a@x.com,b@y.com;', 'it is a group of addresses'],
    ['ada@example.com\r\nBcc: evil@y.com', 'it contains a line break or another control character'],
    ['ada@example.com\n', 'it contains a line break or another control character'],
    ['ada@example.com\u0000', 'it contains a line break or another control character'],
    [' ada@example.com', 'it contains white space'],
    ['ada', 'it is not an address (no @)'],
    ['ada@', 'it has no local part and domain around an @'],
    ['@example.com', 'it has no local part and domain around an @'],
    ['ada@localhost', 'it is not a valid address'],
    ['ada@[127.0.0.1]', 'its domain is not a valid domain name'],
    ['ada@example..com', 'it is not a valid address'],
    ['zoë@example.com', 'its local part is not ASCII (SES sends no SMTPUTF8 local parts)'],
    [`${'a'.repeat(65)}@example.com`, 'its local part is longer than 64 characters'],
    [`ada@${'d'.repeat(62)}.${'e'.repeat(62)}.${'f'.repeat(62)}.${'g'.repeat(62)}.com`, 'it is longer than 254 characters'],
    ['ada(comment)@example.com', 'it has a display name'],
  ])('%j is refused: %s', (stored, reason) => {
    expect(checkRecipient(stored)).toEqual({ ok: false, reason });
  });

  it('never lets a second address or a header through, whatever is stored', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), fc.emailAddress(), (noise, address) => {
        const result = checkRecipient(`${address}${noise}`);
        if (result.ok) {
          expect(result.address.split('@')).toHaveLength(2);
          expect(result.address).not.toMatch(/[\s,;<>"]/);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('takes every address fast-check calls valid, or says why not', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (address) => {
        const result = checkRecipient(address);
        expect(result.ok || typeof result.reason === 'string').toBe(true);
      }),
    );
  });
});

import { newClusterId } from './kafka';

describe('a Kafka cluster id', () => {
  it('is 22 URL-safe base64 characters and never starts with "-" (the storage tool would read it as an option)', () => {
    // 0xf8 encodes as "-" first in URL-safe base64: drawn again until the id starts otherwise.
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x41)];
    const id = newClusterId(() => draws.shift() as Buffer);
    expect(Buffer.alloc(16, 0xf8).toString('base64url').startsWith('-')).toBe(true);
    expect(id).toBe(Buffer.alloc(16, 0x41).toString('base64url'));
    expect(draws).toEqual([]);
    for (let i = 0; i < 1_000; i++) expect(newClusterId()).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});

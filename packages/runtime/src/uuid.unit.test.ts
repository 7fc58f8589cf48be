import { isUuid } from './uuid';

describe('isUuid', () => {
  it.each([
    ['5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162', true],
    ['5F0C7A52-8D4E-4C1F-9A7B-1D2E3F405162', true],
    ['00000000-0000-0000-0000-000000000000', true],
    ['5f0c7a52-8d4e-4c1f-9a7b-1d2e3f40516', false],
    ['5f0c7a528d4e4c1f9a7b1d2e3f405162', false],
    ['../../etc/passwd', false],
    ['', false],
  ])('%j → %s', (text, expected) => {
    expect(isUuid(text)).toBe(expected);
  });
});

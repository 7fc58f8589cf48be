import { seededRandom } from './random';

describe('seededRandom', () => {
  it('gives the same traffic for the same seed, and other traffic for another', () => {
    const draw = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 5 }, () => random());
    };
    expect(draw(11)).toEqual(draw(11));
    expect(draw(11)).not.toEqual(draw(12));
    expect(draw(11).every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { tsType } from './codegen';
import { generatedFiles } from './generate';

describe('generated envelopes and TypeScript types', () => {
  it.each([...generatedFiles().entries()].map(([path, text]) => [relative(process.cwd(), path), path, text]))(
    '%s is what the row schemas generate (run npm run schemas:generate after editing a row schema)',
    (_shown, path, text) => {
      expect(readFileSync(path, 'utf8')).toBe(text);
    },
  );

  it('maps Avro types to the TypeScript the codec hands over', () => {
    expect(tsType('string')).toBe('string');
    expect(tsType('int')).toBe('number');
    expect(tsType(['null', 'string'])).toBe('string | null');
    expect(tsType({ type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 })).toBe('string');
    expect(tsType({ type: 'long', logicalType: 'timestamp-micros' })).toBe('string');
    expect(tsType({ type: 'array', items: 'int' })).toBe('Array<number>');
    expect(tsType({ type: 'enum', name: 'E', symbols: ['a', 'b'] })).toBe('"a" | "b"');
  });
});

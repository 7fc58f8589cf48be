import { Writable } from 'node:stream';
import { makeLogger } from './logger';
import { redactUrl } from './secrets';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe('makeLogger', () => {
  it('writes JSON lines with the service name and the level as text', () => {
    const out = capture();
    makeLogger({ service: 'order-processor', level: 'info', destination: out.stream }).info({ orderId: 'o-1' }, 'order confirmed');
    expect(out.lines()[0]).toMatchObject({ level: 'info', service: 'order-processor', orderId: 'o-1', msg: 'order confirmed' });
  });

  it('redacts credentials wherever they appear', () => {
    const out = capture();
    const logger = makeLogger({ service: 's', level: 'info', destination: out.stream });
    logger.info({ password: 'p1', kafka: { sasl: { password: 'p2' } }, db: { connectionString: 'postgres://u:p3@h/d' } }, 'x');
    const text = JSON.stringify(out.lines()[0]);
    for (const secret of ['p1', 'p2', 'p3']) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
  });
});

describe('redactUrl', () => {
  it('hides the password of a connection URL', () => {
    expect(redactUrl('postgres://pipeline:secret@127.0.0.1:54329/pipeline')).toBe('postgres://pipeline:redacted@127.0.0.1:54329/pipeline');
  });
});

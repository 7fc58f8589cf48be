import type { Logger } from '@pipeline/runtime';
import { logLevel } from 'kafkajs';
import { kafkaLogCreator } from './client';

function capture(): { logger: Logger; lines: [string, string][] } {
  const lines: [string, string][] = [];
  const child = {
    error: (_: unknown, msg: string) => lines.push(['error', msg]),
    warn: (_: unknown, msg: string) => lines.push(['warn', msg]),
    info: (_: unknown, msg: string) => lines.push(['info', msg]),
    debug: (_: unknown, msg: string) => lines.push(['debug', msg]),
  };
  return { logger: { child: () => child } as unknown as Logger, lines };
}

describe('kafkajs log lines through pino', () => {
  it('keeps real errors as errors, and makes broker states kafkajs retries by itself warnings', () => {
    const { logger, lines } = capture();
    const log = kafkaLogCreator(logger)(logLevel.ERROR);
    const entry = (message: string, error: string) => ({
      namespace: 'x',
      level: logLevel.ERROR,
      label: 'ERROR',
      log: { timestamp: '', message, error },
    });
    log(
      entry('Response InitProducerId(key: 22, version: 1)', "The coordinator is loading and hence can't process requests for this group"),
    );
    log(entry('Response Metadata', 'There is no leader for this topic-partition as we are in the middle of a leadership election'));
    log(entry('Crash', 'SASL authentication failed'));
    expect(lines).toEqual([
      ['warn', 'Response InitProducerId(key: 22, version: 1) (transient; kafkajs retries it)'],
      ['warn', 'Response Metadata (transient; kafkajs retries it)'],
      ['error', 'Crash'],
    ]);
  });
});

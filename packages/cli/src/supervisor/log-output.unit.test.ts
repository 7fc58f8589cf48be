import { stripVTControlCharacters as strip } from 'node:util';
import { logOutput } from './log-output';

describe('logOutput', () => {
  const line = JSON.stringify({ level: 30, time: 1_700_000_000_000, service: 'order-processor', msg: 'order confirmed', orderId: 'o-1' });

  it('piped: passes the services’ JSON lines through and wraps anything else in one', () => {
    const out: string[] = [];
    const output = logOutput({ pretty: false, write: (text) => out.push(text) });
    output.service('order-processor', line, 'stdout');
    output.service('cdc-reader', 'Error: boom', 'stderr');
    output.service('cdc-reader', '   ', 'stderr');
    output.say('warn', 'metrics-projector exited (code 1): restarting it in 0.5 s', { restarts: 1 });
    expect(out[0]).toBe(`${line}\n`);
    expect(out.slice(1).map((text) => JSON.parse(text))).toEqual([
      { level: 50, time: expect.any(Number), service: 'cdc-reader', msg: 'Error: boom' },
      {
        level: 40,
        time: expect.any(Number),
        service: 'pipeline',
        restarts: 1,
        msg: 'metrics-projector exited (code 1): restarting it in 0.5 s',
      },
    ]);
  });

  it('on a terminal: one readable line each, prefixed with the service', () => {
    const out: string[] = [];
    const output = logOutput({ pretty: true, write: (text) => out.push(text) });
    output.service('order-processor', line, 'stdout');
    output.service('cdc-reader', 'Error: boom', 'stderr');
    output.say('error', 'inventory-watcher stopped: it crashed 5 times within 60 s');
    const lines = out.map(strip);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^order-processor {4}\[\d\d:\d\d:\d\d\.\d{3}\] INFO: order confirmed .*orderId.*o-1.*\n$/);
    expect(lines[1]).toBe('cdc-reader         Error: boom\n');
    expect(lines[2]).toBe('pipeline           error inventory-watcher stopped: it crashed 5 times within 60 s\n');
  });

  it('on a terminal: every line of a multi-line entry (an error’s details) carries the service', () => {
    const out: string[] = [];
    const output = logOutput({ pretty: true, write: (text) => out.push(text) });
    const error = { type: 'Error', message: 'coordinator loading', stack: 'Error: coordinator loading\n    at join (runner.js:1:1)' };
    output.service('cdc-reader', JSON.stringify({ level: 40, time: 1_700_000_000_000, msg: 'retrying', err: error }), 'stdout');
    const printed = strip(out.join('')).trimEnd().split('\n');
    expect(printed.length).toBeGreaterThan(1);
    for (const line of printed) expect(line.startsWith('cdc-reader ')).toBe(true);
  });
});

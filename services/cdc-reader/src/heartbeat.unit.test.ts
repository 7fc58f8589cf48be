import { HEARTBEAT_PREFIX, heartbeatContent, heartbeatEmittedAt, isHeartbeat } from './heartbeat';

const message = (prefix: string, content: string, transactional = false) => ({ prefix, transactional, content: Buffer.from(content) });

describe('heartbeat messages', () => {
  it('are the reader’s own non-transactional messages, stamped with when they were written', () => {
    expect(heartbeatEmittedAt(message(HEARTBEAT_PREFIX, heartbeatContent(1_700_000_000_123)))).toBe(1_700_000_000_123);
    expect(isHeartbeat(message(HEARTBEAT_PREFIX, heartbeatContent(1)))).toBe(true);
  });

  it('leave other messages alone, and a heartbeat whose content is not a stamp has no time', () => {
    expect(isHeartbeat(message('app.audit', heartbeatContent(1)))).toBe(false);
    expect(isHeartbeat(message(HEARTBEAT_PREFIX, heartbeatContent(1), true))).toBe(false);
    expect(heartbeatEmittedAt(message('app.audit', heartbeatContent(1)))).toBeUndefined();
    expect(heartbeatEmittedAt(message(HEARTBEAT_PREFIX, 'not json'))).toBeUndefined();
    expect(heartbeatEmittedAt(message(HEARTBEAT_PREFIX, '{"emittedAtMs":"soon"}'))).toBeUndefined();
  });
});

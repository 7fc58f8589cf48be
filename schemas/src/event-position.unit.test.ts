import { comparePositions, eventPosition } from './event-position';

describe('event positions', () => {
  it('reads the commit LSN and ordinal of streamed changes, truncates and snapshot rows', () => {
    expect(eventPosition('7312345678901234567:0/16B3748:7')).toEqual({ lsn: 0x16b3748n, ordinal: 7 });
    expect(eventPosition('7312345678901234567:1/0:3:p2')).toEqual({ lsn: 1n << 32n, ordinal: 3 });
    expect(eventPosition('7312345678901234567:0/16B3748:r:public.opportunities:5f0c7a52')).toEqual({ lsn: 0x16b3748n, ordinal: -1 });
    expect(eventPosition('7312345678901234567:0/16B3748:e:public.opportunities:p2')).toEqual({ lsn: 0x16b3748n, ordinal: -2 });
  });

  it('orders by LSN as a number, then ordinal; a snapshot row before the changes of its point, its end just before its rows', () => {
    const sorted = ['s:0/10:1', 's:0/9:5', 's:0/10:0', 's:0/10:r:t:k', 's:1/0:0', 's:0/10:e:t:p0'].sort((a, b) =>
      comparePositions(eventPosition(a), eventPosition(b)),
    );
    expect(sorted).toEqual(['s:0/9:5', 's:0/10:e:t:p0', 's:0/10:r:t:k', 's:0/10:0', 's:0/10:1', 's:1/0:0']);
  });

  it('refuses what is not a cdc-reader event id', () => {
    expect(() => eventPosition('csvc-ok')).toThrow('"csvc-ok" is not an event id of the cdc-reader');
    expect(() => eventPosition('s:0/10:x')).toThrow('has no ordinal after its commit LSN');
  });
});

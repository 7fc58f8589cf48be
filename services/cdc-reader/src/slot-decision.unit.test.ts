import type { SlotRow, UsedSlot } from '@pipeline/db';
import { decideSlot, type SlotFacts } from './slot-decision';

const slotRow = (overrides: Partial<SlotRow> = {}): SlotRow => ({
  slot: 'pipeline_cdc',
  plugin: 'pgoutput',
  slotType: 'logical',
  database: 'pipeline',
  inCurrentDatabase: true,
  active: false,
  activePid: null,
  confirmedFlushLsn: '0/16B3748',
  restartLsn: '0/16B3700',
  lagBytes: 0,
  retainedBytes: 72,
  walStatus: 'reserved',
  ...overrides,
});
const used = (overrides: Partial<UsedSlot> = {}): UsedSlot => ({
  createdAt: new Date('2026-11-01T10:00:00Z'),
  consistentPoint: '0/1000000',
  lastConfirmedLsn: '0/16B3748',
  lastSeenAt: new Date('2026-12-01T10:00:00Z'),
  ...overrides,
});
const facts = (overrides: Partial<SlotFacts>): SlotFacts => ({
  slot: 'pipeline_cdc',
  database: 'pipeline',
  state: undefined,
  used: undefined,
  unfinishedTables: [],
  allowNewSnapshot: false,
  ...overrides,
});

describe('what the reader does with its slot before streaming', () => {
  it.each<[string, Partial<SlotFacts>, ReturnType<typeof decideSlot>['kind'], string | undefined]>([
    ['never used, not there: create it', {}, 'create', undefined],
    ['there and used: stream from its confirmed position', { state: slotRow(), used: used() }, 'adopt', undefined],
    ['there, made elsewhere: adopt it as it stands', { state: slotRow() }, 'adopt', undefined],
    ['used, gone: changes were missed, stop', { used: used() }, 'stop', 'SLOT_VANISHED'],
    ['used, gone, override: replace it', { used: used(), allowNewSnapshot: true }, 'replace', undefined],
    ['its WAL removed: stop', { state: slotRow({ walStatus: 'lost' }), used: used() }, 'stop', 'SLOT_LOST'],
    [
      'its WAL removed, override: replace it',
      { state: slotRow({ walStatus: 'lost' }), used: used(), allowNewSnapshot: true },
      'replace',
      undefined,
    ],
    ['a physical slot of that name: stop', { state: slotRow({ slotType: 'physical', plugin: null }) }, 'stop', 'SLOT_WRONG_KIND'],
    ['another plugin: stop', { state: slotRow({ plugin: 'wal2json' }) }, 'stop', 'SLOT_WRONG_KIND'],
    ['another database’s slot: stop', { state: slotRow({ database: 'billing', inCurrentDatabase: false }) }, 'stop', 'SLOT_OTHER_DATABASE'],
    [
      'creation did not finish (slot there): make it again',
      { state: slotRow(), used: used({ consistentPoint: null }) },
      'create',
      undefined,
    ],
    ['creation did not finish (slot not there): make it again', { used: used({ consistentPoint: null }) }, 'create', undefined],
    ['snapshot interrupted: make it again', { state: slotRow(), used: used(), unfinishedTables: ['public.orders'] }, 'create', undefined],
  ])('%s', (_, given, kind, code) => {
    const decision = decideSlot(facts(given));
    expect(decision.kind).toBe(kind);
    if (decision.kind === 'stop') expect(decision.error).toMatchObject({ code, retriable: false });
  });

  it('says what was missed and how to recover when it stops', () => {
    const vanished = decideSlot(facts({ used: used() }));
    expect(vanished.kind === 'stop' && vanished.error.message).toBe(
      'replication slot pipeline_cdc, used by this reader since 2026-11-01T10:00:00.000Z, no longer exists: changes committed after ' +
        '0/16B3748 may have been missed. To take a new snapshot in its place (every row again as op r), restart the reader with ' +
        'CDC_ALLOW_NEW_SNAPSHOT=true; nothing is streamed until then',
    );
    const lost = decideSlot(facts({ state: slotRow({ walStatus: 'lost' }) }));
    expect(lost.kind === 'stop' && lost.error.message).toMatch(/^replication slot pipeline_cdc is lost: .* CDC_ALLOW_NEW_SNAPSHOT=true/);
  });

  it('drops what is left of an unfinished slot before making it again, saying why', () => {
    expect(decideSlot(facts({ state: slotRow(), used: used(), unfinishedTables: ['public.orders', 'public.suppliers'] }))).toEqual({
      kind: 'create',
      discard: {
        why: 'the initial snapshot of slot pipeline_cdc was interrupted (public.orders, public.suppliers not done)',
        slotExists: true,
      },
    });
    expect(decideSlot(facts({ used: used({ consistentPoint: null }) }))).toEqual({
      kind: 'create',
      discard: { why: 'creating slot pipeline_cdc did not finish', slotExists: false },
    });
    expect(decideSlot(facts({ used: used(), allowNewSnapshot: true }))).toEqual({
      kind: 'replace',
      why: 'it vanished (last confirmed 0/16B3748)',
      slotExists: false,
    });
  });
});

import { contributions, difference, nextState, type ProjectedState } from './state';

const at = '2026-11-29T17:35:04.123456Z';
const state = (stage: string, value: string, owner: string | null, closedMonth: string | null = null): ProjectedState => ({
  stage,
  value,
  owner,
  closedMonth,
});

describe('the projection’s arithmetic', () => {
  it('dates a deal to the month it was closed in, keeps that month while it stays closed, forgets it when reopened', () => {
    const open = nextState(undefined, { stage: 'proposal', value: '10.00', owner: 'ann' }, at);
    expect(open).toEqual(state('proposal', '10.00', 'ann'));
    const won = nextState(open, { stage: 'closed_won', value: '10.00', owner: 'ann' }, at);
    expect(won.closedMonth).toBe('2026-11-01');
    expect(nextState(won, { stage: 'closed_won', value: '12.00', owner: 'ann' }, '2027-01-02T00:00:00Z').closedMonth).toBe('2026-11-01');
    expect(nextState(won, { stage: 'closed_lost', value: '10.00', owner: 'ann' }, '2027-01-02T00:00:00Z').closedMonth).toBe('2027-01-01');
    expect(nextState(won, { stage: 'negotiation', value: '10.00', owner: 'ann' }, at).closedMonth).toBeNull();
  });

  it('a won deal counts in its stage, its owner and its month; an open one only in its stage', () => {
    expect(contributions(state('closed_won', '10.50', 'ann', '2026-11-01'))).toEqual([
      { table: 'stage', stage: 'closed_won', count: 1, value: 1050n },
      { table: 'owner', owner: 'ann', won: 1, lost: 0, revenue: 1050n },
      { table: 'monthly', owner: 'ann', month: '2026-11-01', won: 1, lost: 0, revenue: 1050n },
    ]);
    expect(contributions(state('closed_lost', '3.00', null, '2026-11-01'))).toEqual([
      { table: 'stage', stage: 'closed_lost', count: 1, value: 300n },
      { table: 'owner', owner: null, won: 0, lost: 1, revenue: 0n },
      { table: 'monthly', owner: null, month: '2026-11-01', won: 0, lost: 1, revenue: 0n },
    ]);
    expect(contributions(state('prospecting', '1.00', 'bob'))).toEqual([{ table: 'stage', stage: 'prospecting', count: 1, value: 100n }]);
    expect(contributions(undefined)).toEqual([]);
  });

  it('moves by the difference: a stage change moves between stages, a reopened deal is no longer won, an owner change moves the revenue', () => {
    expect(difference(state('proposal', '5.00', 'ann'), state('negotiation', '5.00', 'ann'))).toEqual([
      { table: 'stage', stage: 'proposal', count: -1, value: -500n },
      { table: 'stage', stage: 'negotiation', count: 1, value: 500n },
    ]);
    expect(difference(state('closed_won', '5.00', 'ann', '2026-11-01'), state('negotiation', '5.00', 'ann'))).toEqual([
      { table: 'stage', stage: 'closed_won', count: -1, value: -500n },
      { table: 'owner', owner: 'ann', won: -1, lost: 0, revenue: -500n },
      { table: 'monthly', owner: 'ann', month: '2026-11-01', won: -1, lost: 0, revenue: -500n },
      { table: 'stage', stage: 'negotiation', count: 1, value: 500n },
    ]);
    expect(difference(state('closed_won', '5.00', 'ann', '2026-11-01'), state('closed_won', '5.00', 'bob', '2026-11-01'))).toEqual([
      { table: 'owner', owner: 'ann', won: -1, lost: 0, revenue: -500n },
      { table: 'monthly', owner: 'ann', month: '2026-11-01', won: -1, lost: 0, revenue: -500n },
      { table: 'owner', owner: 'bob', won: 1, lost: 0, revenue: 500n },
      { table: 'monthly', owner: 'bob', month: '2026-11-01', won: 1, lost: 0, revenue: 500n },
    ]);
    // A value change of an open deal moves only its stage's value; nothing at all when nothing changed.
    expect(difference(state('proposal', '5.00', 'ann'), state('proposal', '7.25', 'ann'))).toEqual([
      { table: 'stage', stage: 'proposal', count: 0, value: 225n },
    ]);
    expect(difference(state('proposal', '5.00', 'ann'), state('proposal', '5.00', 'ann'))).toEqual([]);
    // An insert adds, a delete removes.
    expect(difference(undefined, state('proposal', '5.00', null))).toEqual([{ table: 'stage', stage: 'proposal', count: 1, value: 500n }]);
    expect(difference(state('proposal', '5.00', null), undefined)).toEqual([
      { table: 'stage', stage: 'proposal', count: -1, value: -500n },
    ]);
  });
});

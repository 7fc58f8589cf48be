import { type Change, type OpportunitiesRow, toChange } from '@pipeline/schemas';
import { edgeEnvelope, firstEdgeRow } from '@pipeline/schemas/fixtures';
import { withCountedColumns } from './counted-columns';
import type { ProjectedState } from './state';

const row = (stage: string, value: string, owner: string | null): OpportunitiesRow => ({
  ...firstEdgeRow('public.opportunities'),
  id: '5f0c7a52-8d4e-4c1f-9a7b-1d2e3f405162',
  stage,
  value,
  owner,
});
const change = (op: 'c' | 'u' | 'd' | 'r', before: OpportunitiesRow | null, after: OpportunitiesRow | null, unavailable: string[]) =>
  toChange({
    subject: 'public.opportunities',
    envelope: { ...edgeEnvelope<OpportunitiesRow>('public.opportunities', op, before, after), eventId: 'sys:0/1:0', unavailable },
  }) as Change<OpportunitiesRow>;
const stored: ProjectedState = { stage: 'negotiation', value: '500.00', owner: 'alice', closedMonth: null };

describe('counting only what a change carries', () => {
  it('passes a change without placeholders in its counted columns as it is', () => {
    const c = change('u', row('proposal', '1.00', 'bob'), row('closed_won', '2.00', 'bob'), ['after.name', 'before.name']);
    expect(withCountedColumns(c, stored)).toBe(c);
  });

  it('keeps the stored owner, value or stage where the change has a placeholder', () => {
    const c = change('u', row('proposal', '1.00', null), row('closed_won', '0.00', null), ['after.owner', 'after.value', 'before.owner']);
    const counted = withCountedColumns(c, stored);
    expect(counted.after).toMatchObject({ stage: 'closed_won', value: '500.00', owner: 'alice' });
  });

  it('takes the stored stage for an unavailable old one', () => {
    const c = change('u', row('__unavailable__', '1.00', 'bob'), row('closed_lost', '1.00', 'bob'), ['before.stage']);
    expect(withCountedColumns(c, stored).before?.stage).toBe('negotiation');
    expect(withCountedColumns(c, undefined).before?.stage).toBe('closed_lost');
  });

  it('dates a snapshot row without updated_at by the snapshot', () => {
    const c = change('r', null, row('closed_won', '1.00', 'bob'), ['after.updated_at']);
    expect(withCountedColumns(c, undefined).after?.updated_at).toBe(c.source.commitTs);
  });

  it('dead-letters a change with a placeholder in a counted column and nothing stored to keep', () => {
    const c = change('c', null, row('prospecting', '1.00', null), ['after.owner']);
    expect(() => withCountedColumns(c, undefined)).toThrow(
      expect.objectContaining({ code: 'COLUMN_UNAVAILABLE', retriable: false, message: expect.stringContaining('without its owner') }),
    );
  });

  it('lets a delete through: it counts by what is stored', () => {
    const c = change('d', row('x', '0.00', null), null, ['before.owner', 'before.stage']);
    expect(withCountedColumns(c, undefined)).toBe(c);
  });
});

import { formatDecimal, parseDecimal } from '@pipeline/schemas';

/** An opportunity as the projection counts it. */
export interface ProjectedState {
  stage: string;
  /** numeric(14, 2) as exact text. */
  value: string;
  owner: string | null;
  /** First day of the UTC month the deal was closed in (`YYYY-MM-01`), while it is closed. */
  closedMonth: string | null;
}

export const WON = 'closed_won';
export const LOST = 'closed_lost';
export const isClosed = (stage: string): boolean => stage === WON || stage === LOST;

/** `YYYY-MM-01` of an RFC 3339 UTC time. */
export const monthOf = (time: string): string => `${time.slice(0, 7)}-01`;

/**
 * The state after a change: a deal keeps the month it was closed in while it stays in the same
 * closed stage; closing it (or moving it from won to lost) dates it to this change (`at`, the
 * commit time, or a snapshot row's `updated_at`); reopening it clears the month.
 */
export function nextState(
  previous: ProjectedState | undefined,
  row: { stage: string; value: string; owner: string | null },
  at: string,
): ProjectedState {
  const closedMonth = !isClosed(row.stage)
    ? null
    : previous?.stage === row.stage && previous.closedMonth
      ? previous.closedMonth
      : monthOf(at);
  return { stage: row.stage, value: row.value, owner: row.owner, closedMonth };
}

/** One bucket of one read-model table, and what a state adds to it. */
export type Bucket =
  | { table: 'stage'; stage: string; count: number; value: bigint }
  | { table: 'owner'; owner: string | null; won: number; lost: number; revenue: bigint }
  | { table: 'monthly'; owner: string | null; month: string; won: number; lost: number; revenue: bigint };

const cents = (value: string) => parseDecimal(value, 14, 2);

/** What one opportunity in `state` contributes to the read model. */
export function contributions(state: ProjectedState | undefined): Bucket[] {
  if (!state) return [];
  const buckets: Bucket[] = [{ table: 'stage', stage: state.stage, count: 1, value: cents(state.value) }];
  if (isClosed(state.stage)) {
    const won = state.stage === WON ? 1 : 0;
    const closed = { won, lost: 1 - won, revenue: won ? cents(state.value) : 0n };
    buckets.push({ table: 'owner', owner: state.owner, ...closed });
    if (state.closedMonth) buckets.push({ table: 'monthly', owner: state.owner, month: state.closedMonth, ...closed });
  }
  return buckets;
}

const bucketKey = (bucket: Bucket): string =>
  bucket.table === 'stage'
    ? `stage|${bucket.stage}`
    : bucket.table === 'owner'
      ? `owner|${ownerKey(bucket.owner)}`
      : `monthly|${ownerKey(bucket.owner)}|${bucket.month}`;

/** The owner's key in the tables: NULL is a bucket of its own, never confused with a name. */
export const ownerKey = (owner: string | null): string => (owner === null ? '-' : `+${owner}`);

/** From `before` to `after`: what to subtract and add, per bucket, without buckets that do not move. */
export function difference(before: ProjectedState | undefined, after: ProjectedState | undefined): Bucket[] {
  const merged = new Map<string, Bucket>();
  const add = (bucket: Bucket, sign: 1 | -1) => {
    const key = bucketKey(bucket);
    const current = merged.get(key);
    if (bucket.table === 'stage') {
      const base = (current as typeof bucket | undefined) ?? { ...bucket, count: 0, value: 0n };
      merged.set(key, { ...base, count: base.count + sign * bucket.count, value: base.value + BigInt(sign) * bucket.value });
    } else {
      const base = (current as typeof bucket | undefined) ?? { ...bucket, won: 0, lost: 0, revenue: 0n };
      merged.set(key, {
        ...base,
        won: base.won + sign * bucket.won,
        lost: base.lost + sign * bucket.lost,
        revenue: base.revenue + BigInt(sign) * bucket.revenue,
      });
    }
  };
  for (const bucket of contributions(before)) add(bucket, -1);
  for (const bucket of contributions(after)) add(bucket, 1);
  return [...merged.values()].filter((bucket) =>
    bucket.table === 'stage' ? bucket.count !== 0 || bucket.value !== 0n : bucket.won !== 0 || bucket.lost !== 0 || bucket.revenue !== 0n,
  );
}

export const money = (value: bigint): string => formatDecimal(value, 2);

/** Bucket moves of a whole batch added up per bucket; those that add up to nothing are left out. */
export class BucketTotals {
  private readonly totals = new Map<string, Bucket>();

  add(buckets: readonly Bucket[]): void {
    for (const bucket of buckets) {
      const key =
        bucket.table === 'stage'
          ? `s|${bucket.stage}`
          : bucket.table === 'owner'
            ? `o|${bucket.owner === null ? '-' : `+${bucket.owner}`}`
            : `m|${bucket.owner === null ? '-' : `+${bucket.owner}`}|${bucket.month}`;
      const current = this.totals.get(key);
      if (!current) {
        this.totals.set(key, { ...bucket });
      } else if (current.table === 'stage' && bucket.table === 'stage') {
        current.count += bucket.count;
        current.value += bucket.value;
      } else if (current.table !== 'stage' && bucket.table !== 'stage') {
        current.won += bucket.won;
        current.lost += bucket.lost;
        current.revenue += bucket.revenue;
      }
    }
  }

  nonZero(): Bucket[] {
    return [...this.totals.values()].filter((bucket) =>
      bucket.table === 'stage' ? bucket.count !== 0 || bucket.value !== 0n : bucket.won !== 0 || bucket.lost !== 0 || bucket.revenue !== 0n,
    );
  }
}

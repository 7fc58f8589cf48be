import type { TestDatabase } from '@pipeline/testing';

/** A read-model table and the same thing computed by SQL from `opportunities` (and the audit trail). */
const COMPARISONS: { name: string; projected: string; expected: string }[] = [
  {
    name: 'pipeline_stage_values',
    projected: `SELECT stage, opportunity_count AS n, total_value::text AS total FROM pipeline_stage_values ORDER BY 1`,
    expected: `SELECT stage, count(*)::int AS n, sum(value)::numeric(16, 2)::text AS total FROM opportunities GROUP BY stage ORDER BY 1`,
  },
  {
    name: 'sales_metrics',
    projected: `SELECT owner, deals_won AS won, deals_lost AS lost, revenue_closed::text AS revenue, win_rate_pct::text AS pct
                  FROM sales_metrics ORDER BY owner NULLS FIRST`,
    expected: `SELECT owner, won, lost, revenue::text, round(100.0 * won / (won + lost), 2)::numeric(5, 2)::text AS pct FROM (
                 SELECT owner, count(*) FILTER (WHERE stage = 'closed_won')::int AS won, count(*) FILTER (WHERE stage = 'closed_lost')::int AS lost,
                        coalesce(sum(value) FILTER (WHERE stage = 'closed_won'), 0)::numeric(16, 2) AS revenue
                   FROM opportunities WHERE stage IN ('closed_won', 'closed_lost') GROUP BY owner) t ORDER BY owner NULLS FIRST`,
  },
  {
    name: 'sales_metrics_monthly',
    projected: `SELECT owner, to_char(month, 'YYYY-MM-DD') AS month, deals_won AS won, deals_lost AS lost, revenue_closed::text AS revenue
                  FROM sales_metrics_monthly ORDER BY owner NULLS FIRST, month`,
    // The month of close: the audit's last change into the deal's current stage, else (closed before the audit) its updated_at.
    expected: `SELECT owner, month, count(*) FILTER (WHERE stage = 'closed_won')::int AS won, count(*) FILTER (WHERE stage = 'closed_lost')::int AS lost,
                      coalesce(sum(value) FILTER (WHERE stage = 'closed_won'), 0)::numeric(16, 2)::text AS revenue
                 FROM (SELECT o.owner, o.stage, o.value,
                              to_char(date_trunc('month', coalesce(
                                (SELECT a.at FROM test_stage_audit a WHERE a.opportunity_id = o.id AND a.to_stage = o.stage ORDER BY a.id DESC LIMIT 1),
                                o.updated_at) AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS month
                         FROM opportunities o WHERE o.stage IN ('closed_won', 'closed_lost')) t
                GROUP BY owner, month ORDER BY owner NULLS FIRST, month`,
  },
];

const TRANSITIONS = {
  projected: `SELECT opportunity_id::text AS id, from_stage, to_stage, value::text, owner FROM stage_transitions ORDER BY 1, 2 NULLS FIRST, 3, 4, 5`,
  expected: `SELECT opportunity_id::text AS id, from_stage, to_stage, value::text, owner FROM test_stage_audit ORDER BY 1, 2 NULLS FIRST, 3, 4, 5`,
};

/** The first difference between two lists of rows, described; undefined when they are equal. */
function firstDifference(name: string, projected: unknown[], expected: unknown[]): string | undefined {
  const length = Math.max(projected.length, expected.length);
  for (let i = 0; i < length; i++) {
    const a = JSON.stringify(projected[i]);
    const b = JSON.stringify(expected[i]);
    if (a !== b) return `${name}: row ${i + 1} of ${expected.length} differs: projected ${a ?? '(none)'}, SQL says ${b ?? '(none)'}`;
  }
  return undefined;
}

/** Compares every read-model table (and, unless told not to, the transitions) with SQL; the first difference of each, described. */
export async function readModelDifferences(db: TestDatabase, options: { transitions: boolean }): Promise<string[]> {
  const differences: string[] = [];
  const comparisons = options.transitions ? [...COMPARISONS, { name: 'stage_transitions', ...TRANSITIONS }] : COMPARISONS;
  for (const { name, projected, expected } of comparisons) {
    const [a, b] = await Promise.all([db.pool.query(projected), db.pool.query(expected)]);
    const difference = firstDifference(name, a.rows, b.rows);
    if (difference) differences.push(difference);
  }
  return differences;
}

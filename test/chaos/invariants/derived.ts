import type { TestDatabase } from '@pipeline/testing';
import { readModelDifferences } from '../../../services/metrics-projector/src/__tests__/compare';
import { firstOf, type Invariant } from './observation';

/**
 * Exactly one open reorder task per item below its threshold and none for the others; urgent at
 * zero stock; every task announced by a notification that links to it.
 */
export const reorderTasks: Invariant = {
  name: 'reorder tasks',
  async check(observation) {
    const items = [...observation.initial.keys()];
    const { rows } = await observation.pool.query<{
      id: string;
      quantity: number;
      threshold: number;
      open: number;
      urgent: number;
      unannounced: number;
    }>(
      `SELECT i.id::text, i.quantity, i.reorder_threshold AS threshold,
              count(t.id) FILTER (WHERE t.status IN ('open', 'in_progress'))::int AS open,
              count(t.id) FILTER (WHERE t.status IN ('open', 'in_progress') AND t.priority = 'urgent')::int AS urgent,
              count(t.id) FILTER (WHERE NOT EXISTS (
                SELECT 1 FROM notifications n WHERE n.action_url = '/tasks/' || t.id::text AND n.type = 'low_inventory'))::int AS unannounced
         FROM inventory i
         LEFT JOIN tasks t ON t.type = 'inventory_reorder' AND t.metadata->>'inventory_id' = i.id::text
        WHERE i.id = ANY($1::uuid[])
        GROUP BY i.id, i.quantity, i.reorder_threshold`,
      [items],
    );
    const violations: string[] = [];
    for (const item of rows) {
      const low = item.quantity < item.threshold;
      if (low && item.open !== 1)
        violations.push(`item ${item.id} is low (${item.quantity} < ${item.threshold}) with ${item.open} open reorder tasks, not 1`);
      if (!low && item.open !== 0)
        violations.push(`item ${item.id} is not low (${item.quantity} ≥ ${item.threshold}) but has ${item.open} open reorder tasks`);
      if (item.quantity === 0 && item.open === 1 && item.urgent !== 1)
        violations.push(`item ${item.id} is out of stock but its reorder task is not urgent`);
      if (item.unannounced > 0)
        violations.push(`item ${item.id}: ${item.unannounced} reorder task(s) without a notification linking to them`);
    }
    return firstOf(violations);
  },
};

/** The projections (stage values, sales metrics, monthly metrics, transitions) equal the same figures computed by SQL. */
export const metricsEqualSql: Invariant = {
  name: 'metrics equal SQL',
  async check(observation) {
    // The comparison reads through `pool` only.
    const db = { pool: observation.pool } as TestDatabase;
    return readModelDifferences(db, { transitions: true });
  },
};

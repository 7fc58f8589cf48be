-- inventory-watcher: at most one open reorder task per inventory item, enforced by the database.
-- The item is `metadata->>'inventory_id'` of a task of type inventory_reorder; a task counts as
-- open while it is open or in progress. Whatever writes tasks (the watcher, its daily check, a
-- person in SQL) cannot open a second one for the same item.

-- The trigger-based design this replaces could open several; keep the oldest of each item open
-- and cancel the others, saying why, so the index below can be built.
UPDATE tasks
   SET status = 'cancelled',
       metadata = metadata || jsonb_build_object('reason', 'duplicate open reorder task', 'duplicate_of', keeper.id),
       updated_at = now()
  FROM (
    SELECT DISTINCT ON (metadata->>'inventory_id') metadata->>'inventory_id' AS inventory_id, id
      FROM tasks
     WHERE type = 'inventory_reorder' AND status IN ('open', 'in_progress') AND metadata ? 'inventory_id'
     ORDER BY metadata->>'inventory_id', created_at, id
  ) AS keeper
 WHERE tasks.type = 'inventory_reorder'
   AND tasks.status IN ('open', 'in_progress')
   AND tasks.metadata->>'inventory_id' = keeper.inventory_id
   AND tasks.id <> keeper.id;

CREATE UNIQUE INDEX tasks_one_open_reorder_per_item_idx
  ON tasks ((metadata->>'inventory_id'))
  WHERE type = 'inventory_reorder' AND status IN ('open', 'in_progress');

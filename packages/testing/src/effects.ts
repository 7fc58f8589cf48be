import type { Pool } from 'pg';

/**
 * Test consumers record each effect as a `tasks` row of their own `type` with the event as
 * `title`: how many times each event's effect was applied.
 */
export async function taskEffects(pool: Pool, type: string): Promise<{ title: string; n: string }[]> {
  const { rows } = await pool.query<{ title: string; n: string }>(
    'SELECT title, count(*) AS n FROM tasks WHERE type = $1 GROUP BY title ORDER BY title',
    [type],
  );
  return rows;
}

/** Waits until `count` distinct events have their effect, or fails saying how many did. */
export async function untilTaskEffects(pool: Pool, type: string, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await taskEffects(pool, type)).length < count) {
    if (Date.now() > deadline) throw new Error(`only ${(await taskEffects(pool, type)).length} of ${count} effects`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

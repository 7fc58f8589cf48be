import { seededRandom, type TestDatabase } from '@pipeline/testing';

const STAGES = ['prospecting', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost'];
const OWNERS = ['ann', 'bob', 'cyd', 'dee', null];

export interface WorkloadOptions {
  seed: number;
  sessions: number;
  operationsPerSession: number;
  /** Pause between operations, ms (stretches the sequence for kill tests). */
  pauseMs?: number;
}

/**
 * Inserts, updates (stage, value, owner, a reopened deal) and deletes on `opportunities` from
 * several sessions at once, some in transactions that change one row twice or more. Returns how
 * many operations ran.
 */
export async function runWorkload(db: TestDatabase, options: WorkloadOptions): Promise<number> {
  const ids: string[] = (await db.pool.query<{ id: string }>('SELECT id FROM opportunities')).rows.map((row) => row.id);
  let done = 0;
  const session = async (index: number) => {
    const next = seededRandom(options.seed * 31 + index);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
    const money = () => (Math.floor(next() * 10_000_000) / 100).toFixed(2);
    const client = await db.pool.connect();
    try {
      for (let n = 0; n < options.operationsPerSession; n++) {
        const roll = next();
        if (roll < 0.25 || ids.length < 20) {
          const { rows } = await client.query<{ id: string }>(
            'INSERT INTO opportunities (name, stage, value, owner) VALUES ($1, $2, $3, $4) RETURNING id',
            [`Deal ${index}-${n}`, pick(STAGES), money(), pick(OWNERS)],
          );
          ids.push(rows[0]?.id as string);
        } else if (roll < 0.55) {
          await client.query('UPDATE opportunities SET stage = $2 WHERE id = $1', [pick(ids), pick(STAGES)]);
        } else if (roll < 0.62) {
          // A won deal reopened.
          await client.query(`UPDATE opportunities SET stage = 'negotiation' WHERE id = $1 AND stage = 'closed_won'`, [pick(ids)]);
        } else if (roll < 0.75) {
          await client.query('UPDATE opportunities SET value = $2 WHERE id = $1', [pick(ids), money()]);
        } else if (roll < 0.83) {
          await client.query('UPDATE opportunities SET owner = $2 WHERE id = $1', [pick(ids), pick(OWNERS)]);
        } else if (roll < 0.9) {
          await client.query('DELETE FROM opportunities WHERE id = $1', [pick(ids)]);
        } else {
          // One row changed two or three times in one transaction: one commit LSN, several ordinals.
          const id = pick(ids);
          await client.query('BEGIN');
          await client.query('UPDATE opportunities SET stage = $2 WHERE id = $1', [id, pick(STAGES)]);
          await client.query('UPDATE opportunities SET value = $2, owner = $3 WHERE id = $1', [id, money(), pick(OWNERS)]);
          if (next() < 0.5) await client.query('UPDATE opportunities SET stage = $2 WHERE id = $1', [id, pick(STAGES)]);
          await client.query('COMMIT');
        }
        done += 1;
        if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
      }
    } finally {
      client.release();
    }
  };
  await Promise.all(Array.from({ length: options.sessions }, (_, index) => session(index)));
  return done;
}

/** Every stage change (and insert) as the database saw it: what the transitions are compared with. */
export async function installAuditTrigger(db: TestDatabase): Promise<void> {
  await db.pool.query(`
    CREATE TABLE test_stage_audit (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, opportunity_id uuid NOT NULL, from_stage text, to_stage text,
      value numeric(14, 2) NOT NULL, owner text, at timestamptz NOT NULL DEFAULT clock_timestamp());
    CREATE FUNCTION test_stage_audit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' OR OLD.stage IS DISTINCT FROM NEW.stage THEN
        INSERT INTO test_stage_audit (opportunity_id, from_stage, to_stage, value, owner)
        VALUES (NEW.id, CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.stage END, NEW.stage, NEW.value, NEW.owner);
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER test_stage_audit AFTER INSERT OR UPDATE ON opportunities FOR EACH ROW EXECUTE FUNCTION test_stage_audit();`);
}

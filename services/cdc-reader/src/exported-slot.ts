import pg from 'pg';

/** A slot just created with an exported snapshot; the snapshot lives as long as `connection`. */
export interface ExportedSlot {
  consistentPoint: string;
  /** For `SET TRANSACTION SNAPSHOT` on another connection: the database as of the consistent point. */
  snapshotName: string;
  /** Ends the replication connection (and with it the exported snapshot). */
  close(): Promise<void>;
}

/**
 * Creates a pgoutput slot on a replication connection with EXPORT_SNAPSHOT: the snapshot it
 * exports sees exactly the changes committed before the slot's consistent point, so reading the
 * tables in it and then streaming from that point misses nothing and repeats nothing.
 */
export async function createSlotWithSnapshot(connection: pg.ClientConfig, slot: string): Promise<ExportedSlot> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(slot)) throw new Error(`invalid replication slot name ${slot}`);
  const client = new pg.Client({ ...connection, replication: 'database' } as pg.ClientConfig);
  // An error on the idle connection is reported through the snapshot reads failing; do not crash on it.
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT "${slot}" LOGICAL pgoutput EXPORT_SNAPSHOT`,
    );
    const row = rows[0];
    if (!row) throw new Error(`CREATE_REPLICATION_SLOT ${slot} returned nothing`);
    return { consistentPoint: row.consistent_point, snapshotName: row.snapshot_name, close: () => client.end() };
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
}

import { parseLsn } from './lsn';

/**
 * Where a change stands in the database's history, read from its event id: the commit LSN of its
 * transaction and its ordinal within it. Streamed changes are `<system id>:<commit LSN>:<ordinal>`
 * (a truncate adds `:p<partition>`, one record per partition); snapshot rows are
 * `<system id>:<consistent point>:r:<table>:<key>` and rank before every streamed change of that
 * point, at ordinal -1. The end-of-snapshot record, `<system id>:<consistent point>:e:<table>:p<n>`,
 * ranks at ordinal -2, just before the rows of its snapshot: what it removes is older than them,
 * and a row of that snapshot arriving after it (a retry copy) still counts. Two changes of one row
 * in one transaction share the LSN: the ordinal orders them.
 */
export interface EventPosition {
  lsn: bigint;
  ordinal: number;
}

export function eventPosition(eventId: string): EventPosition {
  const [, lsn, third] = eventId.split(':');
  if (lsn === undefined || third === undefined) {
    throw new Error(`${JSON.stringify(eventId)} is not an event id of the cdc-reader (<system id>:<commit LSN>:<ordinal>)`);
  }
  if (third === 'r') return { lsn: parseLsn(lsn), ordinal: -1 };
  if (third === 'e') return { lsn: parseLsn(lsn), ordinal: -2 };
  if (!/^\d+$/.test(third)) throw new Error(`${JSON.stringify(eventId)} has no ordinal after its commit LSN`);
  return { lsn: parseLsn(lsn), ordinal: Number(third) };
}

/** Negative when `a` came before `b`, 0 at the same place, positive after. */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  if (a.lsn !== b.lsn) return a.lsn < b.lsn ? -1 : 1;
  return a.ordinal - b.ordinal;
}

import type { Queryable } from '@pipeline/db';
import { UnrecoverableError } from '@pipeline/runtime';
import { cdcTopic } from '@pipeline/schemas';
import { keylessTables } from './catalog';

/**
 * A published table without any key cannot go to a compacted topic: compaction keeps the latest
 * record per key, and its changes have none. Throws (exit 78) naming each such table and its topic.
 */
export async function refuseKeylessOnCompacted(
  db: Queryable,
  publication: string,
  topicPrefix: string,
  compacted: ReadonlySet<string>,
): Promise<void> {
  if (compacted.size === 0) return;
  const refused = (await keylessTables(db, publication))
    .map((subject) => ({ subject, topic: cdcTopic(topicPrefix, subject) }))
    .filter(({ topic }) => compacted.has(topic));
  if (refused.length === 0) return;
  throw new UnrecoverableError(
    `${refused.map((r) => `${r.subject} (topic ${r.topic})`).join(', ')} ${refused.length === 1 ? 'has' : 'have'} no primary key or ` +
      'replica identity key, but its topic is compacted (cleanup.policy=compact): compaction keeps the latest record per key, ' +
      "and such a table's changes have no key to keep. Add a primary key (or set REPLICA IDENTITY FULL or USING INDEX), take " +
      `the table out of publication ${publication}, or set cleanup.policy=delete on the topic; then start the reader again`,
    { code: 'KEYLESS_TABLE_COMPACTED' },
  );
}

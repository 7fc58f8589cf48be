import type { EventOutcome } from '@pipeline/db';
import type { HandlerContext } from '@pipeline/kafka';
import { CONTROL_KEY_PREFIX } from '@pipeline/schemas';

/**
 * What an outcome records for tracing beside where it was read: the change's commit time, its
 * table (from the topic it was first read from, `<prefix>.<schema>.<table>`, so a retry copy or an
 * undecodable message names it too) and its row's key (a control record's key names no row).
 */
export function traceFields(
  topicPrefix: string,
  context: Pick<HandlerContext, 'source' | 'key' | 'eventTimeMs'>,
): Pick<EventOutcome, 'committedAt' | 'subject' | 'rowKey'> {
  const fields: Pick<EventOutcome, 'committedAt' | 'subject' | 'rowKey'> = {};
  const start = `${topicPrefix}.`;
  if (context.source.topic.startsWith(start)) fields.subject = context.source.topic.slice(start.length);
  if (context.key !== undefined && !context.key.startsWith(CONTROL_KEY_PREFIX)) fields.rowKey = context.key;
  if (context.eventTimeMs !== undefined && Number.isFinite(context.eventTimeMs)) fields.committedAt = new Date(context.eventTimeMs);
  return fields;
}

import { PgoutputPlugin } from 'pg-logical-replication';

/** Keeps a column's text as PostgreSQL sent it. */
const keepText = (raw: unknown) => raw;

/**
 * pgoutput through pg-logical-replication, with every column kept as text. The library gives each
 * column `pg`'s type parser when it reads the relation message, and messages are parsed as they
 * arrive, before any handler runs; replacing the parsers here, synchronously, is the only point
 * that precedes the first row of that relation. Conversion then happens once, exactly (columns.ts).
 */
export class TextPgoutputPlugin extends PgoutputPlugin {
  override parse(buffer: Buffer) {
    const message = super.parse(buffer);
    if (message.tag === 'relation') for (const column of message.columns) column.parser = keepText;
    return message;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A uuid in PostgreSQL's text form (any version): what can be compared with a uuid column or name a file. */
export const isUuid = (text: string): boolean => UUID.test(text);

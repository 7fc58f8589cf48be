/**
 * The Avro event contract (docs/architecture.md, "The event contract"): row and envelope schemas,
 * their TypeScript types, the single-object codec, envelope validation, and the contract's names.
 * Tooling (code generation, releases, compatibility) is `@pipeline/schemas/tooling`; test rows and
 * envelopes are `@pipeline/schemas/fixtures`.
 */
export * from './avro';
export * from './canonical';
export * from './catalog';
export * from './change';
export * from './codec';
export * from './decimal';
export * from './envelope';
export * from './envelope-decoder';
export * from './errors';
export * from './event-position';
export * from './files';
export * from './fingerprint';
export type * from './generated/types';
export * from './logical-types';
export * from './lsn';
export * from './snapshot-end';
export * from './timestamp';
export * from './topics';
export * from './transaction';
export * from './validate';

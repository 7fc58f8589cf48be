export * from './client';
export * from './config';
export * from './dead-letters';
export * from './read-topic';
export * from './readiness';
export * from './retry';
export * from './runner';
export * from './topics';

export * from './client';
export * from './config';
export * from './readiness';
export * from './retry';
export * from './runner';
export * from './topics';

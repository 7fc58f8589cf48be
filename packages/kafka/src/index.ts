export * from './client';
export * from './config';
export * from './readiness';
export * from './retry';
export * from './topics';

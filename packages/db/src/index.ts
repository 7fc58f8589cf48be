export * from './config';
export * from './migrations';
export * from './pool';
export * from './readiness';

export * from './checkpoints';
export * from './config';
export * from './effects';
export * from './idempotency';
export * from './migrations';
export * from './outcomes';
export * from './pool';
export * from './readiness';

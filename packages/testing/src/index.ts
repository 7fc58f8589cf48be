export * from './child';
export * from './cleanup';
export * from './database';
export * from './effects';
export * from './kafka';
export * from './private-stack';
export * from './shared-stack';

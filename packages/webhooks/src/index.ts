export * from './condition';
export * from './endpoint-url';
export * from './outcome';
export * from './payload';
export * from './secret-box';
export * from './signing';
export * from './store';
export * from './subscriptions';

export * from './run-now';
export * from './schedule';
export * from './scheduler';
export * from './types';

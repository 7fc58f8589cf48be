export * from './config';
export * from './errors';
export * from './health';
export * from './lifecycle';
export * from './logger';
export * from './metrics';
export * from './service';

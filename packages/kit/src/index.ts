export * from './backends';
export * from './bookkeeping';
export * from './config';
export * from './consumer-service';
export * from './handlers';
export * from './jobs';
export * from './ports';

export * from './backends';
export * from './consumer-service';
export * from './env';

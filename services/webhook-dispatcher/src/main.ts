import { main } from '@pipeline/runtime';
import { configSchema, SERVICE } from './config';
import { start } from './service';

void main({ name: SERVICE, configSchema, start });

export { runMigrations } from './commands/migrate';
export { buildProgram } from './program';
export { SERVICES, serviceEntryPoint } from './services';

/** Tooling of the contract, kept out of the runtime entry point: code generation, releases, compatibility. */
export * from '../codegen';
export * from '../compat';
export * from '../generate';
export * from '../release';

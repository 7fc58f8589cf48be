/**
 * Errors say whether a retry can help. Everything thrown in the pipeline is normalised here, once,
 * so callers never inspect unknown values themselves.
 */
export class PipelineError extends Error {
  /** True when the same operation may succeed later (a broker away, a schema not yet published). */
  readonly retriable: boolean;
  /** A stable, machine-readable code for metrics and dead-letter headers. */
  readonly code: string;

  constructor(message: string, options: { code: string; retriable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PipelineError';
    this.code = options.code;
    this.retriable = options.retriable;
  }
}

/**
 * Work ran past its deadline (a handler's HANDLER_TIMEOUT_MS): retriable, and what it did must not
 * commit. The runner raises it when the deadline fires; processOnce and applyWithCheckpoint when
 * the work returns after it (they roll back).
 */
export class DeadlineExceededError extends PipelineError {
  constructor(message: string) {
    super(message, { code: 'DEADLINE_EXCEEDED', retriable: true });
    this.name = 'DeadlineExceededError';
  }
}

/** A configuration that cannot work: never retriable, the process must stop and say why. */
export class ConfigError extends PipelineError {
  readonly issues: readonly string[];

  constructor(message: string, issues: readonly string[]) {
    super(message, { code: 'CONFIG_INVALID', retriable: false });
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Turns anything thrown into a PipelineError. Unknown errors are treated as retriable. */
export function toPipelineError(thrown: unknown): PipelineError {
  if (thrown instanceof PipelineError) return thrown;
  if (thrown instanceof Error) {
    return new PipelineError(thrown.message, { code: 'UNEXPECTED', retriable: true, cause: thrown });
  }
  return new PipelineError(`non-error thrown: ${String(thrown)}`, {
    code: 'UNEXPECTED',
    retriable: true,
    cause: thrown,
  });
}

/**
 * A condition restarting cannot fix (a topic that refuses every record, a snapshot that keeps
 * failing the same way, a slot that missed changes): a person must act. The process stops and
 * exits 78 (EX_CONFIG), on which a supervisor gives up instead of restarting it in a loop; the
 * message says what happened and what to do.
 */
export class UnrecoverableError extends PipelineError {
  constructor(message: string, options: { code: string; cause?: unknown }) {
    super(message, { ...options, retriable: false });
    this.name = 'UnrecoverableError';
  }
}

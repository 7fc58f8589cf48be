import { PipelineError } from '@pipeline/runtime';

/**
 * The bytes are not Avro single-object encoded (too short, wrong marker): retrying cannot help,
 * the message belongs in the dead-letter topic.
 */
export class NotSingleObjectError extends PipelineError {
  constructor(message: string) {
    super(message, { code: 'NOT_SINGLE_OBJECT', retriable: false });
    this.name = 'NotSingleObjectError';
  }
}

/**
 * No schema with this fingerprint is bundled or published yet. Retriable: the writer publishes a
 * schema before its first record, but a consumer may read the record first.
 */
export class UnknownSchemaError extends PipelineError {
  readonly fingerprint: string;

  constructor(fingerprint: string, where: string) {
    super(
      `unknown schema fingerprint ${fingerprint}: not bundled and not in ${where}; ` +
        'it may still be on its way (retrying), or the writer did not publish it',
      { code: 'SCHEMA_UNKNOWN', retriable: true },
    );
    this.name = 'UnknownSchemaError';
    this.fingerprint = fingerprint;
  }
}

/** The body does not decode with its writer schema, or cannot be read with the reader's: not retriable. */
export class UndecodableError extends PipelineError {
  constructor(message: string, cause?: unknown) {
    super(message, { code: 'UNDECODABLE', retriable: false, cause });
    this.name = 'UndecodableError';
  }
}

/** A value does not fit its schema (for example a decimal with too many digits): not retriable. */
export class InvalidValueError extends PipelineError {
  readonly problems: readonly string[];

  constructor(schemaName: string, problems: readonly string[]) {
    super(`value does not match schema ${schemaName}: ${problems.join('; ')}`, { code: 'INVALID_VALUE', retriable: false });
    this.name = 'InvalidValueError';
    this.problems = problems;
  }
}

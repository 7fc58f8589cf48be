import { findRepoRoot, makeStack, type Stack, stackConfigFromEnv } from '@pipeline/stack';

/** The shared local stack the integration tests use (the same one `pipeline stack up` runs). */
export function sharedStack(): Stack {
  return makeStack(stackConfigFromEnv(process.env, findRepoRoot(__dirname)));
}

/** Template every test database is cloned from; the global setup migrates it once per run. */
export const TEMPLATE_DATABASE = 'pipeline_test_template';

/** Password the global setup gives the reader role on the shared test server. */
export const TEST_READER_PASSWORD = 'pipeline_reader';

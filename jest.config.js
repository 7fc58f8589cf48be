// Two tiers (docs/architecture.md, "How the code is tested"): *.unit.test.ts run pure logic with no servers; *.int.test.ts run against
// the real local stack, which the int project's global setup brings up (reusing a running one).
const swc = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' }, sourceMaps: 'inline' },
];

// Tests import workspace packages from their sources, never from a possibly stale dist/.
const moduleNameMapper = {
  '^@pipeline/schemas$': '<rootDir>/schemas/src/index.ts',
  '^@pipeline/schemas/tooling$': '<rootDir>/schemas/src/tooling/index.ts',
  '^@pipeline/schemas/fixtures$': '<rootDir>/schemas/src/fixtures.ts',
  '^@pipeline/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
};

const common = {
  rootDir: __dirname,
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper,
  testEnvironment: 'node',
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['**/*.unit.test.ts'] },
    {
      ...common,
      displayName: 'int',
      testMatch: ['**/*.int.test.ts'],
      globalSetup: '<rootDir>/packages/testing/src/global-setup.ts',
      globalTeardown: '<rootDir>/packages/testing/src/global-teardown.ts',
      slowTestThreshold: 30,
    },
  ],
  // Integration tests share one broker and one server on 2 cores: keep the pressure moderate.
  maxWorkers: 2,
  testTimeout: 60_000,
};

// Jest runs in ESM mode (@kubernetes/client-node is an ES module) with @swc/jest as the
// TypeScript transform: type checking is `npm run build`, so tests only pay for transpiling.
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } },
  ],
};
const common = {
  transform,
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};

export default {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      setupFilesAfterEnv: [
        '<rootDir>/test/harness/jest-assertions.ts',
        '<rootDir>/test/harness/jest-tmpdir.ts',
      ],
      // CPU-bound cases (a graph layout, a synth of a whole mesh) take 1-2 s alone and past Jest's
      // 5 s default while the integration project shares the two cores; a hang still fails.
      testTimeout: 30_000,
    },
    {
      // The packed package installed into fresh projects (npm registry only; no control plane).
      ...common,
      displayName: 'consumer',
      testMatch: ['<rootDir>/test/consumer/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/harness/jest-assertions.ts'],
      testTimeout: 600_000,
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/harness/jest-global-setup.js',
      globalTeardown: '<rootDir>/test/harness/jest-global-teardown.js',
      setupFilesAfterEnv: [
        '<rootDir>/test/harness/jest-assertions.ts',
        '<rootDir>/test/harness/jest-timeouts.ts',
      ],
    },
  ],
};

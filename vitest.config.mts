import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default is cores - 1: one worker on the 2-core CI machines. The suites use fake timers
    // or generous bounds, so two workers are safe and halve the run (7.5 min -> 3.7 min).
    maxWorkers: 2,
    // Unhandled rejections fail the run: "every call settles" is part of the contract.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});

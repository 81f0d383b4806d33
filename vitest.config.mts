import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Unhandled rejections fail the run: "every call settles" is part of the contract.
    dangerouslyIgnoreUnhandledErrors: false,
  },
});

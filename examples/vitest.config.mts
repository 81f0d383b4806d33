// Vitest config for the example test only (the repository's own config runs src/ and test/).
// Used by: npx vitest run --config examples/vitest.config.mts
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['examples/**/*.test.ts'],
    testTimeout: 30_000,
  },
});

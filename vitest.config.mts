import { defineConfig } from 'vitest/config';

/**
 * Files whose assertions measure throughput against a wall clock (goodput within a rate limit, a
 * seeded chaos run with deadlines). They run after everything else, one at a time, so that another
 * suite's CPU load cannot eat into what they measure.
 */
const ALONE = ['test/integration/rate-limit.test.ts', 'test/reliability/chaos.test.ts'];

const shared = {
  testTimeout: 30_000,
  hookTimeout: 30_000,
  pool: 'forks' as const,
  // Unhandled rejections fail the run: "every call settles" is part of the contract.
  dangerouslyIgnoreUnhandledErrors: false,
};

export default defineConfig({
  test: {
    projects: [
      {
        // Tests beside a module check that module alone: no client round trip through a server, no
        // Redis. `npm run test:unit` runs only these.
        test: { ...shared, name: 'unit', include: ['src/**/*.test.ts'], maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        // Through the client, a server or Redis. Vitest's default worker count is cores - 1, one on the
        // 2-core CI machines; the suites use fake timers or generous bounds, so two are safe.
        test: { ...shared, name: 'integration', include: ['test/**/*.test.ts'], exclude: ALONE, maxWorkers: 2, sequence: { groupOrder: 0 } },
      },
      {
        test: { ...shared, name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});

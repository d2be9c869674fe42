import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Integration tests wait for real executions, whose retries run at a reduced but real pace.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'unit', include: ['tests/unit/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          globalSetup: ['tests/global-setup.ts'],
          // The files share one local stack, and fault rules and call counts are global to it,
          // so one file at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});

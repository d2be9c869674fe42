import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vitest/config';

/**
 * Runs only the checks of the packaged stack, for `npm run package` (scripts/package-check.sh),
 * which has just written the template these tests read.
 */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    name: 'deploy',
    include: ['tests/deploy/**/*.test.ts'],
    // Packaging, when the template is stale, takes about 10 seconds on its own.
    hookTimeout: 180_000,
  },
});

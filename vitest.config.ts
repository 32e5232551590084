import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      // The more specific entry first: '@cra/core' would also match '@cra/core/browser'.
      '@cra/core/browser': here('./core/src/browser.ts'),
      '@cra/core': here('./core/src/index.ts'),
    },
  },
  test: {
    include: ['{core,runtime,operator,e2e}/test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 120_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@cronfleet/source'] },
  ssr: { resolve: { conditions: ['@cronfleet/source'] } },
  test: {
    name: 'cli',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // Builds core and cli: the integration tests spawn the real bin, which runs their dist.
    globalSetup: ['test/buildCli.globalSetup.ts'],
    testTimeout: 30_000,
  },
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['@cronfleet/source'] },
  ssr: { resolve: { conditions: ['@cronfleet/source'] } },
  test: {
    name: 'cli',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
  },
});

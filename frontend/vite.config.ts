import react from '@vitejs/plugin-react';
import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [react()],
  // Build from core's TypeScript sources (the @cronfleet/source export condition).
  resolve: { conditions: ['@cronfleet/source', ...defaultClientConditions] },
  ssr: { resolve: { conditions: ['@cronfleet/source', ...defaultServerConditions] } },
  build: { outDir: 'dist', emptyOutDir: true },
  test: {
    name: 'frontend',
    include: ['src/**/*.test.{ts,tsx}', 'test/**/*.test.ts'],
    // The browser tests build the dashboard, start the backend and drive chromium: on a busy
    // 2-core machine a page can take seconds. No assertion depends on speed.
    testTimeout: 60_000,
    hookTimeout: 180_000,
  },
});

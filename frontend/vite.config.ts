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
    include: ['src/**/*.test.{ts,tsx}'],
  },
});

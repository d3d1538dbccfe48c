import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig, type ViteUserConfig } from 'vitest/config';

/**
 * The vitest settings every Node workspace shares. `@cronfleet/source` resolves
 * `@cronfleet/core/*` to core's TypeScript sources, so tests never need a prior build of core.
 */
export function nodeWorkspaceConfig(name: string, extra: ViteUserConfig['test'] = {}) {
  return defineConfig({
    resolve: { conditions: ['@cronfleet/source', ...defaultClientConditions] },
    ssr: { resolve: { conditions: ['@cronfleet/source', ...defaultServerConditions] } },
    test: {
      name,
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      ...extra,
    },
  });
}

// Shared vitest config: resolve workspace packages to their TypeScript source through the
// "@hypernets/source" export condition, so `pnpm test` needs no prior build.
import { defineConfig, mergeConfig } from 'vitest/config';

export const base = defineConfig({
  resolve: { conditions: ['@hypernets/source'] },
  ssr: { resolve: { conditions: ['@hypernets/source'] } },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // tfjs keeps a global engine; run files in separate forks, one at a time on 2 cores.
    pool: 'forks',
    fileParallelism: false,
  },
});

export function preset(overrides = {}) {
  return mergeConfig(base, overrides);
}
export default base;

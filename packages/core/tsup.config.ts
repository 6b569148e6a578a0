import { defineConfig } from 'tsup';
import { preset } from '@hypernets/tsup-preset';
// `@hypernets/core/errors`: the error classes without tfjs, for code that must not load it
// (the CLI's argument checks, which run before any backend). `@hypernets/core/internal`: what
// the hypernets packages share with each other, outside the semver-covered API.
export default defineConfig(
  preset({ entry: { index: 'src/index.ts', internal: 'src/internal.ts', 'errors/index': 'src/errors/index.ts' } }),
);

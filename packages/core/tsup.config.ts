import { defineConfig } from 'tsup';
import { preset } from '@hypernets/tsup-preset';
// `@hypernets/core/errors`: the error classes without tfjs, for code that must not load it
// (the CLI's argument checks, which run before any backend).
export default defineConfig(preset({ entry: { index: 'src/index.ts', 'errors/index': 'src/errors/index.ts' } }));

import { defineConfig } from 'tsup';
import { preset } from '@hypernets/tsup-preset';
// `./internal`: what the hypernets packages and apps share, outside the semver-covered API.
export default defineConfig(preset({ entry: ['src/index.ts', 'src/internal.ts'] }));

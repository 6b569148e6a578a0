import { defineConfig } from 'tsup';
import { preset } from '@hypernets/tsup-preset';
// dist/ only: prebuilds/ (the addon) is written by scripts/build-addon.mjs.
export default defineConfig(preset({ clean: true }));

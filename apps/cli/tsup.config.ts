import { defineConfig } from 'tsup';
import { preset } from '@hypernets/tsup-preset';
export default defineConfig(preset({ entry: ['src/bin.ts'], dts: false, banner: { js: '#!/usr/bin/env node' } }));

import { defineConfig } from 'tsup';
import { preset } from '@hypernets/tsup-preset';
export default defineConfig(preset({ entry: ['src/index.ts'] }));

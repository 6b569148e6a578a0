import { defineConfig } from 'tsup';
import { preset } from '@hypernets/tsup-preset';
// @hypernets/plot is a private workspace package: bundle it into bin.js so the published CLI
// needs nothing unpublished (its own dependencies — vega, vega-lite, resvg — are the CLI's).
export default defineConfig(
  preset({ entry: ['src/bin.ts'], dts: false, banner: { js: '#!/usr/bin/env node' }, noExternal: ['@hypernets/plot'] }),
);

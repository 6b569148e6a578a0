// Shared tsup options: ESM + d.ts, tfjs and optional backends left external.
export function preset(overrides = {}) {
  return {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    external: [/^@tensorflow\//, 'webgpu', /^@hypernets\//],
    ...overrides,
  };
}

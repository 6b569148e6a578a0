// initBackend's wasmPaths option. tfjs-backend-wasm loads its binary once per process and vitest
// runs each file in its own fork, so the failing case lives in wasm-paths-bad.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type WasmBinaryName } from './index.js';

const wasmDist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
const names: WasmBinaryName[] = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
];
const dir = mkdtempSync(join(tmpdir(), 'hypernets-wasm-paths-'));

describe('initBackend wasmPaths', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads the binaries from where wasmPaths says (renamed files: only the map can find them)', async () => {
    const map = {} as Record<WasmBinaryName, string>;
    for (const n of names) {
      copyFileSync(join(wasmDist, n), join(dir, `renamed-${n}`));
      map[n] = join(dir, `renamed-${n}`);
    }
    const info = await initBackend('wasm', { wasmPaths: map });
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(Array.from(await tf.add(tf.tensor1d([1, 2]), 1).data())).toEqual([2, 3]);
  });
});

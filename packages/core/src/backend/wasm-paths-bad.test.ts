// An explicit initBackend('wasm') whose binary cannot load throws and says why, instead of
// falling back. Own file: tfjs-backend-wasm initialises once per process (see wasm-paths.test.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from './index.js';
import { BackendUnavailableError } from '../errors/index.js';

const dir = mkdtempSync(join(tmpdir(), 'hypernets-wasm-bad-'));

describe('initBackend wasmPaths, binary missing', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('throws BackendUnavailableError naming the .wasm binary and wasmPaths (an HTML page served as .wasm)', async () => {
    // What a bundler's dev server or SPA fallback returns for a .wasm file it did not emit.
    for (const n of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'])
      writeFileSync(join(dir, n), '<!doctype html><title>app</title>');
    const err = await initBackend('wasm', { wasmPaths: `${dir}/` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/could not load its \.wasm binary/);
    expect(msg).toContain(dir);
    expect(msg).toMatch(/wasmPaths/);
  });
});

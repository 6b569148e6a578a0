import { defineConfig, defaultClientConditions, minify, type Plugin } from 'vite';
import { mnistSubset } from './mnist-subset.js';

// Threaded wasm (SharedArrayBuffer) needs a cross-origin isolated page.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

/**
 * Minifies the bundle except where that breaks tfjs-backend-wasm's threads. Its threaded binary
 * starts each worker from the factory function's own source text
 * (`'var WasmBackendModuleThreadedSimd = ' + factory.toString()`), so the function must not refer
 * to anything outside itself; Vite's minifier renames and hoists names across that boundary and
 * the workers die with `ReferenceError: e is not defined` (measured: Vite 8.3, Chromium 156,
 * `?backend=wasm&threads=2`). So Vite's own minification is off and this plugin minifies every
 * chunk after Vite has finished with it, except the one holding that factory, which stays as
 * tfjs ships it (tfjs's own build is already minified inside the factory).
 */
function minifyOutsideWasmWorkerSource(): Plugin {
  return {
    name: 'hypernets-minify-outside-wasm-worker-source',
    apply: 'build',
    generateBundle: {
      order: 'post',
      async handler(_options, bundle) {
        for (const chunk of Object.values(bundle)) {
          if (chunk.type !== 'chunk' || chunk.code.includes('WasmBackendModuleThreadedSimd')) continue;
          const out = await minify(chunk.fileName, chunk.code, { module: true, compress: true, mangle: true });
          if (out.errors.length)
            this.error(`minifying ${chunk.fileName}: ${out.errors.map((e) => e.message).join('; ')}`);
          chunk.code = out.code;
        }
      },
    },
  };
}

export default defineConfig({
  // Workspace packages from their TypeScript source, as the CLI and the tests do.
  resolve: { conditions: ['@hypernets/source', ...defaultClientConditions] },
  plugins: [minifyOutsideWasmWorkerSource(), mnistSubset()],
  server: { host: '127.0.0.1', headers: isolation },
  preview: { host: '127.0.0.1', headers: isolation },
  build: {
    target: 'es2022',
    // Minified by minifyOutsideWasmWorkerSource() instead (all but the threaded-wasm factory).
    minify: false,
    chunkSizeWarningLimit: 4000,
  },
  // Dev server: pre-bundle the backends up front (tfjs-backend-wasm's worker source is CommonJS and
  // must be pre-bundled; webgpu is found only when its import runs, which would reload the page).
  optimizeDeps: {
    include: ['@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-cpu'],
  },
});

// Backend choice in the browser, through @hypernets/core's initBackend: webgpu when navigator.gpu
// gives an adapter, else wasm, else cpu; or the one `?backend=` forces.
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendInfo, type BackendName } from '@hypernets/core';
// Vite emits the three binaries as assets and gives their URLs; tfjs-backend-wasm picks one.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

export const BROWSER_BACKENDS = ['webgpu', 'wasm', 'cpu'] as const;
export type BrowserBackend = (typeof BROWSER_BACKENDS)[number];

export const WASM_PATHS = {
  'tfjs-backend-wasm.wasm': new URL(wasmPlain, location.href).href,
  'tfjs-backend-wasm-simd.wasm': new URL(wasmSimd, location.href).href,
  'tfjs-backend-wasm-threaded-simd.wasm': new URL(wasmThreadedSimd, location.href).href,
};

/** initBackend's options here: the wasm binaries' URLs, and the webgpu backend as a module Vite bundles. */
const BACKEND_OPTIONS = {
  wasmPaths: WASM_PATHS,
  webgpu: { backendModule: () => import('@tensorflow/tfjs-backend-webgpu') },
};

export interface AdapterReport {
  /** Whether navigator.gpu gave an adapter. */
  available: boolean;
  /** Why not, when it did not. */
  reason?: string;
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /** Absent when the browser does not say. */
  isFallbackAdapter?: boolean;
}

export interface WasmReport {
  /** Which binary tfjs-backend-wasm loaded. */
  flavour: 'threaded-simd' | 'simd' | 'plain';
  threads: number;
  simd: boolean;
  multithread: boolean;
  crossOriginIsolated: boolean;
}

export interface BackendReport {
  backend: BackendName;
  device: string;
  /** What was asked for: a forced backend or 'auto'. */
  requested: BrowserBackend | 'auto';
  /** Backends tried before the chosen one, with why each was skipped. */
  skipped: { backend: string; reason: string }[];
  adapter: AdapterReport;
  wasm?: WasmReport;
  /** Milliseconds from navigation to the backend being ready. */
  readyAtMs: number;
}

/** Asks navigator.gpu for an adapter only to describe it (core requests its own for the device). */
export async function probeAdapter(): Promise<AdapterReport> {
  const gpu = (navigator as any).gpu;
  if (!gpu) return { available: false, reason: 'navigator.gpu is absent (WebGPU disabled or unsupported here)' };
  let adapter: any;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { available: false, reason: `requestAdapter() failed: ${(e as Error).message}` };
  }
  if (!adapter) return { available: false, reason: 'navigator.gpu.requestAdapter() returned no adapter' };
  const info = adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {});
  const fallback = info.isFallbackAdapter ?? adapter.isFallbackAdapter;
  return {
    available: true,
    vendor: info.vendor || undefined,
    architecture: info.architecture || undefined,
    device: info.device || undefined,
    description: info.description || undefined,
    ...(typeof fallback === 'boolean' ? { isFallbackAdapter: fallback } : {}),
  };
}

async function wasmReport(): Promise<WasmReport> {
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const multithread = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  return {
    flavour: simd && multithread ? 'threaded-simd' : simd ? 'simd' : 'plain',
    threads: (await import('@tensorflow/tfjs-backend-wasm')).getThreadsCount(),
    simd,
    multithread,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
  };
}

/** A backend that has not started after this long will not (e.g. wasm whose workers died): say so. */
const START_TIMEOUT_MS = 60_000;

function withTimeout<T>(p: Promise<T>, ms: number, name: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${name} did not start within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Starts `forced` (throws BackendUnavailableError when it cannot start), or with no choice
 * webgpu → wasm → cpu, recording why each one before the chosen one was skipped.
 */
export async function startBackend(forced?: BrowserBackend): Promise<BackendReport> {
  const adapter = await probeAdapter();
  const skipped: BackendReport['skipped'] = [];
  const order: readonly BrowserBackend[] = forced ? [forced] : BROWSER_BACKENDS;
  let info: BackendInfo | undefined;
  for (const name of order) {
    if (!forced && name === 'webgpu' && !adapter.available) {
      skipped.push({ backend: name, reason: adapter.reason ?? 'no adapter' });
      continue;
    }
    try {
      info = await withTimeout(initBackend(name, BACKEND_OPTIONS), START_TIMEOUT_MS, name);
      break;
    } catch (e) {
      if (forced) throw e;
      skipped.push({ backend: name, reason: message(e) });
    }
  }
  if (!info) throw new Error(`no backend could start: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`);
  return {
    backend: info.backend,
    device: info.device,
    requested: forced ?? 'auto',
    skipped,
    adapter,
    ...(info.backend === 'wasm' ? { wasm: await wasmReport() } : {}),
    readyAtMs: performance.now(),
  };
}

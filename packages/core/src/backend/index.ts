import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, ConfigError } from '../errors/index.js';
import { registerWasmTrainingKernels } from '../kernels/index.js';
import { registerTfjsGradients } from '../tfjs-setup.js';
import { setNativeGemm } from '../kernels/native-gemm.js';
import { startNative, type NativeInfo, type NativePreference } from './native.js';
import { shareSavedTensors } from './saved-tensors.js';

export type BackendName = 'cuda' | 'webgpu' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;
export type { NativeInfo, NativePreference } from './native.js';

export const BACKEND_ORDER: readonly BackendName[] = ['cuda', 'webgpu', 'wasm', 'cpu'];

export interface BackendInfo {
  /** What was chosen. */
  backend: BackendName;
  /** tfjs's name for it ('tensorflow' for cuda). */
  tfjsBackend: string;
  /** The device, in words. */
  device: string;
  /** Backends tried before this one, with why each was skipped. */
  skipped: { backend: BackendName; reason: string }[];
  /** Kernels core registered so that training works on this backend. */
  registeredKernels: string[];
  /** wasm only: whether its matrix products run on @hypernets/native's BLAS, and why (not). */
  native?: NativeInfo;
}

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

function parsePreference(p: string | undefined, source: string): BackendPreference {
  const v = (p ?? 'auto').trim().toLowerCase();
  if (v === 'auto' || (BACKEND_ORDER as readonly string[]).includes(v)) return v as BackendPreference;
  throw new ConfigError(source, `'${p}' is not a backend; use one of auto, ${BACKEND_ORDER.join(', ')}`);
}

/** Loads an optional package by name; the indirection keeps bundlers from resolving it eagerly. */
const optionalImport = (name: string): Promise<any> => import(/* @vite-ignore */ name);

async function startCuda(): Promise<{ tfjsBackend: string; device: string }> {
  if (!isNode) throw new BackendUnavailableError('cuda', 'CUDA is only available in Node.js', 'webgpu');
  try {
    await optionalImport('@tensorflow/tfjs-node-gpu');
  } catch (e) {
    const msg = (e as Error).message ?? String(e);
    const missing = /Cannot find (package|module)/i.test(msg);
    throw new BackendUnavailableError(
      'cuda',
      missing
        ? 'the optional package "@tensorflow/tfjs-node-gpu" is not installed (npm install @tensorflow/tfjs-node-gpu; it needs CUDA 11.2 and cuDNN 8.1)'
        : `@tensorflow/tfjs-node-gpu failed to load libtensorflow: ${msg.split('\n')[0]}`,
      'webgpu',
      { cause: e },
    );
  }
  if (!tf.findBackendFactory('tensorflow'))
    throw new BackendUnavailableError('cuda', 'tfjs-node-gpu loaded but registered no "tensorflow" backend', 'webgpu');
  if (!(await tf.setBackend('tensorflow')))
    throw new BackendUnavailableError('cuda', 'the "tensorflow" backend failed to initialise', 'webgpu');
  return { tfjsBackend: 'tensorflow', device: 'libtensorflow (tfjs-node-gpu)' };
}

/** The three binaries tfjs-backend-wasm picks from (plain, SIMD, threaded SIMD). */
export type WasmBinaryName =
  'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm';

export interface InitBackendOptions {
  /**
   * Where the wasm backend fetches its `.wasm` binaries, passed to tfjs-backend-wasm's
   * `setWasmPaths` before the backend starts: a folder URL or path ending in '/' that holds all
   * three, or a map from each binary's name to its URL (e.g. Vite's `?url` imports). Bundlers do
   * not emit these files by themselves; without it the backend looks beside the bundled script.
   */
  wasmPaths?: string | Record<WasmBinaryName, string>;
  /** Options of the WebGPU backend (adapter, power preference, where to look for the Vulkan loader). */
  webgpu?: import('./webgpu.js').WebgpuOptions;
  /**
   * The wasm backend's f32 matrix products on OpenBLAS through @hypernets/native (Node): 'auto'
   * (default, or HYPERNETS_NATIVE) uses it when it loads and says why not otherwise; true
   * requires it; false keeps wasm's own.
   */
  native?: NativePreference;
}

async function startWasm(
  options: InitBackendOptions = {},
): Promise<{ tfjsBackend: string; device: string; kernels: string[]; native: NativeInfo }> {
  let wasmModule: typeof import('@tensorflow/tfjs-backend-wasm');
  try {
    wasmModule = await import('@tensorflow/tfjs-backend-wasm');
  } catch (e) {
    throw new BackendUnavailableError(
      'wasm',
      `@tensorflow/tfjs-backend-wasm failed to load: ${(e as Error).message}`,
      'cpu',
      { cause: e },
    );
  }
  if (options.wasmPaths !== undefined && !tf.findBackend('wasm')) {
    try {
      wasmModule.setWasmPaths(options.wasmPaths);
    } catch (e) {
      throw new BackendUnavailableError('wasm', `wasmPaths was not accepted: ${(e as Error).message}`, 'cpu', {
        cause: e,
      });
    }
  }
  const kernels = registerWasmTrainingKernels();
  // tfjs only logs why a backend failed to start (e.g. "expected magic word 00 61 73 6d" when a
  // bundler served index.html for the .wasm file); keep its reason for the error.
  // Emscripten binds console.warn when the module is created, so the stand-in forwards once done.
  const warnings: string[] = [];
  const warn = console.warn;
  let collecting = true;
  console.warn = (...args: unknown[]) => {
    if (collecting) warnings.push(args.map(String).join(' '));
    else warn.apply(console, args);
  };
  let started: boolean;
  try {
    started = await tf.setBackend('wasm');
  } finally {
    collecting = false;
    console.warn = warn;
  }
  if (!started) {
    const reason = [
      ...new Set(
        warnings.filter((w) => !/^Initialization of backend wasm failed/.test(w)).map((w) => w.split('\n')[0]),
      ),
    ].join('; ');
    throw new BackendUnavailableError(
      'wasm',
      `the wasm backend could not load its .wasm binary${options.wasmPaths !== undefined ? ` from wasmPaths ${JSON.stringify(options.wasmPaths)}` : ''}` +
        `${reason ? ` (${reason})` : ''}. In a bundled app, serve node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm ` +
        `and pass their location as initBackend('wasm', { wasmPaths })`,
      'cpu',
    );
  }
  const native = await startNative(options.native, isNode);
  const device = `WebAssembly (${isNode ? 'Node, 1 thread' : 'browser'})${native.used ? ', matrix products on OpenBLAS' : ''}`;
  return { tfjsBackend: 'wasm', device, kernels, native };
}

async function startCpu(): Promise<{ tfjsBackend: string; device: string }> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new BackendUnavailableError('cpu', 'the cpu backend failed to initialise');
  return { tfjsBackend: 'cpu', device: 'pure JavaScript' };
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|software|microsoft basic/i;

async function startOne(
  name: BackendName,
  auto: boolean,
  options: InitBackendOptions = {},
): Promise<{ tfjsBackend: string; device: string; kernels?: string[]; native?: NativeInfo }> {
  if (name !== 'wasm') setNativeGemm(null);
  switch (name) {
    case 'cuda':
      return startCuda();
    case 'webgpu': {
      const { startWebgpu, releaseWebgpu } = await import('./webgpu.js');
      const r = await startWebgpu(options.webgpu);
      if (auto && SOFTWARE_ADAPTER.test(r.device)) {
        await releaseWebgpu();
        throw new BackendUnavailableError(
          'webgpu',
          `only a software adapter is available (${r.device}); 'auto' prefers wasm over it (ask for 'webgpu' explicitly to use it)`,
          'wasm',
        );
      }
      return { tfjsBackend: 'webgpu', device: r.device };
    }
    case 'wasm':
      return startWasm(options);
    case 'cpu':
      return startCpu();
  }
}

/**
 * Starts a backend and makes it tfjs's active one. `preference` defaults to the
 * HYPERNETS_BACKEND environment variable, then 'auto' (cuda → webgpu → wasm → cpu).
 * An explicit backend that cannot start throws BackendUnavailableError saying why and
 * naming the next choice; 'auto' records each skip in `skipped`.
 */
export async function initBackend(
  preference?: BackendPreference | string,
  options: InitBackendOptions = {},
): Promise<BackendInfo> {
  const pref =
    preference !== undefined
      ? parsePreference(preference, 'backend')
      : parsePreference(isNode ? process.env.HYPERNETS_BACKEND : undefined, 'HYPERNETS_BACKEND');
  await registerTfjsGradients();
  shareSavedTensors();
  const candidates = pref === 'auto' ? BACKEND_ORDER : [pref];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      const r = await startOne(name, pref === 'auto', options);
      await tf.ready();
      return {
        backend: name,
        tfjsBackend: r.tfjsBackend,
        device: r.device,
        skipped,
        registeredKernels: r.kernels ?? [],
        ...(r.native ? { native: r.native } : {}),
      };
    } catch (e) {
      if (pref !== 'auto') throw e;
      skipped.push({ backend: name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  throw new BackendUnavailableError('auto', `no backend could start: ${skipped.map((s) => s.reason).join('; ')}`);
}

/** Releases resources a backend holds (the WebGPU device keeps Node alive otherwise). */
export async function shutdownBackend(): Promise<void> {
  if (tf.getBackend() === 'webgpu' || tf.findBackend('webgpu')) {
    const { releaseWebgpu } = await import('./webgpu.js');
    await releaseWebgpu();
  }
}

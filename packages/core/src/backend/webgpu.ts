/**
 * The tfjs WebGPU backend, started by hand: in the browser on `navigator.gpu`, in Node on Dawn
 * (the optional `webgpu` package) — on a CPU-only Linux machine over SwiftShader's Vulkan driver.
 *
 * Why not tfjs's own factory: it only registers when `navigator.gpu` exists at import time (never
 * in Node), and it requests `bgra8unorm-storage` as a nested array, which strict WebGPU
 * implementations reject. So this module requests the GPUDevice itself with the limits tfjs
 * needs, builds `WebGPUBackend(device, adapterInfo)` and registers it under 'webgpu' in place of
 * tfjs's factory.
 *
 * Node specifics: Dawn's GPU object keeps the process alive while referenced, so
 * `releaseWebgpu()` destroys the device and drops it; GPU tensors must be read with
 * `await t.data()` (dataSync/arraySync cannot wait for the GPU in Node).
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from '../errors/index.js';
import { registerWebgpuKernelFixes } from '../kernels/webgpu-fixes.js';
// vulkan.ts reads the file system (node:fs): loaded only on the Node path, so browser bundles never see it.
import type { VulkanLoaderSearch } from './vulkan.js';

export interface WebgpuOptions {
  /** Passed to `requestAdapter`. Default: 'high-performance'. */
  powerPreference?: 'low-power' | 'high-performance';
  /** Node only: a Dawn adapter name (Dawn's `adapter=` option), e.g. 'SwiftShader Device (Subzero)'. */
  adapter?: string;
  /**
   * Node on Linux: where to look for the Vulkan loader (libvulkan.so.1) before starting Dawn.
   * Default: as the dynamic linker does (LD_LIBRARY_PATH, /etc/ld.so.cache, the standard lib dirs).
   */
  vulkanLoader?: VulkanLoaderSearch;
  /**
   * How @tensorflow/tfjs-backend-webgpu is loaded. Default: imported by name at run time (Node, and
   * bundles that leave optional peers alone, so an app without it still builds). A bundled browser
   * app passes `() => import('@tensorflow/tfjs-backend-webgpu')`, so that its bundler includes it:
   * a browser cannot resolve the bare name itself.
   */
  backendModule?: () => Promise<{ WebGPUBackend?: unknown }>;
}

export interface WebgpuInfo {
  /** The adapter in words, e.g. "SwiftShader driver 5.0.0 (google swiftshader, fallback adapter, Dawn)". */
  device: string;
  /** GPUAdapterInfo as strings (vendor, architecture, device, description, …) plus `runtime`. */
  adapterInfo: Record<string, string>;
}

// Minimal structural views of the WebGPU objects used here, so this file needs no WebGPU typings.
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  readonly features: ReadonlySet<string>;
  readonly limits: Record<string, unknown>;
  readonly info?: object;
  requestAdapterInfo?(): Promise<object>;
  requestDevice(descriptor: {
    requiredFeatures: string[];
    requiredLimits: Record<string, number>;
  }): Promise<DeviceLike>;
}
interface DeviceLike {
  readonly lost: Promise<{ reason?: string; message?: string }>;
  readonly queue: { onSubmittedWorkDone(): Promise<unknown> };
  onuncapturederror: ((event: { error?: { message?: string } }) => void) | null;
  destroy(): void;
}
type WebGPUBackendCtor = new (device: unknown, adapterInfo?: unknown) => tf.KernelBackend;

/** Adapter limits tfjs-backend-webgpu relies on; requested at the adapter's maximum. */
export const TFJS_WEBGPU_LIMITS = [
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupSizeX',
  'maxComputeInvocationsPerWorkgroup',
] as const;
/** Optional features tfjs can use; requested only when the adapter has them. */
const OPTIONAL_FEATURES = ['timestamp-query', 'bgra8unorm-storage'] as const;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;
const INSTALL_HINT =
  "install Chromium's SwiftShader Vulkan driver and the Vulkan loader (Debian: apt-get install chromium libvulkan1, " +
  'or run .ci/install-webgpu.sh) and set VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json';

/** Loads an optional package by name; the indirection keeps bundlers from resolving it eagerly. */
const optionalImport = (name: string): Promise<any> => import(/* @vite-ignore */ name);
const isMissingModule = (e: unknown, name: string) =>
  /Cannot find (package|module)|ERR_MODULE_NOT_FOUND|Failed to (resolve|load)/i.test(
    String((e as Error)?.message ?? e),
  ) && String((e as Error)?.message ?? e).includes(name);

interface Running {
  device: DeviceLike;
  /** Dawn's GPU object when this module created it (Node); dropped on release so Node can exit. */
  dawnGpu: GpuLike | null;
  info: WebgpuInfo;
}
let running: Running | undefined;
let starting: Promise<WebgpuInfo> | undefined;

/**
 * Starts tfjs's WebGPU backend and makes it the active one. Browser: `navigator.gpu`. Node: Dawn
 * from the optional `webgpu` package; on Linux without a configured Vulkan driver it points
 * VK_ICD_FILENAMES at Chromium's SwiftShader (see vulkan.ts for the rule).
 * Already started: switches back to it and returns the running device (release to change options).
 * Throws BackendUnavailableError (next choice 'wasm') naming what is missing.
 */
export async function startWebgpu(opts: WebgpuOptions = {}): Promise<WebgpuInfo> {
  if (starting) return starting;
  if (running) {
    if (!(await tf.setBackend('webgpu')))
      throw new BackendUnavailableError('webgpu', 'the running WebGPU backend could not be re-selected', 'wasm');
    return running.info;
  }
  starting = start(opts).finally(() => {
    starting = undefined;
  });
  return starting;
}

async function start(opts: WebgpuOptions): Promise<WebgpuInfo> {
  const g = globalThis as any;
  const browserGpu: GpuLike | undefined = g.navigator?.gpu;
  if (!browserGpu && !isNode)
    throw new BackendUnavailableError(
      'webgpu',
      'this browser has no navigator.gpu (WebGPU is disabled or unsupported)',
      'wasm',
    );

  // Load both packages before touching the GPU: a missing package fails fast and holds nothing.
  let dawn: { create(options: string[]): GpuLike; globals: Record<string, unknown> } | undefined;
  if (!browserGpu) {
    try {
      dawn = await optionalImport('webgpu');
    } catch (e) {
      throw new BackendUnavailableError(
        'webgpu',
        isMissingModule(e, 'webgpu')
          ? 'the optional package "webgpu" is not installed: npm install webgpu'
          : `the "webgpu" package (Dawn) failed to load: ${firstLine(e)}`,
        'wasm',
        { cause: e },
      );
    }
    // tfjs reads GPUBufferUsage, GPUMapMode, GPUTextureUsage, … as globals.
    for (const [k, v] of Object.entries(dawn!.globals)) if (!(k in g)) g[k] = v;
  }
  let WebGPUBackend: WebGPUBackendCtor;
  try {
    // In Node this import registers no factory of its own (navigator.gpu is absent); in a
    // browser it does, and is replaced below.
    const mod = await (opts.backendModule ?? (() => optionalImport('@tensorflow/tfjs-backend-webgpu')))();
    WebGPUBackend = mod.WebGPUBackend as WebGPUBackendCtor;
  } catch (e) {
    throw new BackendUnavailableError(
      'webgpu',
      isMissingModule(e, '@tensorflow/tfjs-backend-webgpu')
        ? 'the optional package "@tensorflow/tfjs-backend-webgpu" is not installed: npm install @tensorflow/tfjs-backend-webgpu'
        : `@tensorflow/tfjs-backend-webgpu failed to load: ${firstLine(e)}`,
      'wasm',
      { cause: e },
    );
  }
  if (typeof WebGPUBackend !== 'function')
    throw new BackendUnavailableError(
      'webgpu',
      '@tensorflow/tfjs-backend-webgpu exports no WebGPUBackend (expected ^4.22)',
      'wasm',
    );
  // tfjs-backend-webgpu 4.22 gives garbage for AddN of many tensors and for some ops at rank ≥ 5,
  // untyped errors for others (webgpu-fixes.ts).
  registerWebgpuKernelFixes();

  let gpu: GpuLike;
  let adapter: AdapterLike | null;
  let driverNote = '';
  if (browserGpu) {
    gpu = browserGpu;
    adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } else {
    const { configureVulkanDriver, findSwiftShaderIcd, findVulkanLoader, VULKAN_DRIVER_ENV, VULKAN_LOADER } =
      await import('./vulkan.js');
    // Without the Vulkan loader Dawn prints "Warning: Couldn't load Vulkan" to the terminal on
    // every run and finds no adapter: say so quietly instead, before Dawn starts.
    if (!findVulkanLoader(opts.vulkanLoader))
      throw new BackendUnavailableError(
        'webgpu',
        `${VULKAN_LOADER} not found (apt-get install libvulkan1, or the Vulkan loader of your distribution; ` +
          'searched LD_LIBRARY_PATH, /etc/ld.so.cache and the standard library directories)',
        'wasm',
      );
    const driver = configureVulkanDriver();
    driverNote = driver.reason;
    const dawnOptions = opts.adapter ? [`adapter=${opts.adapter}`] : [];
    const createGpu = () => {
      try {
        return dawn!.create(dawnOptions);
      } catch (e) {
        throw new BackendUnavailableError(
          'webgpu',
          `Dawn could not start${opts.adapter ? ` adapter '${opts.adapter}'` : ''}: ${firstLine(e)}`,
          'wasm',
          { cause: e },
        );
      }
    };
    gpu = createGpu();
    adapter = await requestAdapterQuietly(gpu, opts);
    // A hardware driver manifest without its GPU (a container without the device): retry on SwiftShader.
    if (!adapter && !driver.set && !VULKAN_DRIVER_ENV.some((k) => process.env[k]) && findSwiftShaderIcd()) {
      driverNote = configureVulkanDriver({ force: true }).reason + ' after the installed driver gave no adapter';
      gpu = createGpu();
      adapter = await requestAdapterQuietly(gpu, opts);
    }
  }
  if (!adapter) {
    const icd = isNode ? process.env.VK_ICD_FILENAMES : undefined;
    throw new BackendUnavailableError(
      'webgpu',
      browserGpu
        ? 'navigator.gpu.requestAdapter() returned no adapter (WebGPU blocked or no usable GPU)'
        : `Dawn found no WebGPU adapter (VK_ICD_FILENAMES=${icd ?? 'unset'}; ${driverNote}); on a machine without a GPU, ${INSTALL_HINT}`,
      'wasm',
    );
  }

  const device = await requestTfjsDevice(adapter);
  const r: Running = { device, dawnGpu: browserGpu ? null : gpu, info: { device: '', adapterInfo: {} } };
  try {
    const rawInfo = adapter.info ?? (adapter.requestAdapterInfo ? await adapter.requestAdapterInfo() : {});
    const adapterInfo = infoRecord(rawInfo);
    adapterInfo.runtime = browserGpu ? (isNode ? 'navigator.gpu (provided)' : 'browser') : 'dawn (node webgpu)';
    if (!browserGpu && process.env.VK_ICD_FILENAMES) adapterInfo.vulkanIcd = process.env.VK_ICD_FILENAMES;
    r.info = { device: describeAdapter(adapterInfo, !browserGpu), adapterInfo };

    device.onuncapturederror = (ev) => console.warn(`[hypernets] WebGPU error: ${ev.error?.message ?? ev}`);
    // tfjs's constructor checks navigator.gpu; in Node it exists only for the constructor's duration.
    const backend = withNavigatorGpu(gpu, () => new WebGPUBackend(device, rawInfo));
    if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => backend, 3);
    running = r;
    if (!(await tf.setBackend('webgpu')))
      throw new BackendUnavailableError(
        'webgpu',
        `the WebGPU backend failed to initialise on ${r.info.device}`,
        'wasm',
      );
    return r.info;
  } catch (e) {
    if (running === r) running = undefined;
    await teardown(r);
    throw e;
  }
}

/**
 * Destroys the device, removes the 'webgpu' backend from tfjs and drops the reference to Dawn's
 * GPU object so a Node process can exit. Tensors still on the backend become unusable.
 * A no-op when this module started nothing.
 */
export async function releaseWebgpu(): Promise<void> {
  if (starting) await starting.catch(() => undefined);
  const r = running;
  if (!r) return;
  running = undefined;
  await teardown(r);
}

async function teardown(r: Running): Promise<void> {
  try {
    await r.device.queue.onSubmittedWorkDone();
  } catch {
    /* device already lost */
  }
  // Only our registration is removed: tfjs's own factory (browser) was replaced at start.
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  r.device.onuncapturederror = null;
  r.device.destroy();
  r.dawnGpu = null;
}

/** The device tfjs needs: adapter-maximum limits; optional features only when present. */
async function requestTfjsDevice(adapter: AdapterLike): Promise<DeviceLike> {
  const requiredLimits: Record<string, number> = {};
  for (const k of TFJS_WEBGPU_LIMITS) {
    const v = adapter.limits[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  try {
    return await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    throw new BackendUnavailableError(
      'webgpu',
      `the adapter refused a device with tfjs's limits: ${firstLine(e)}`,
      'wasm',
      { cause: e },
    );
  }
}

async function requestAdapterQuietly(gpu: GpuLike, opts: WebgpuOptions): Promise<AdapterLike | null> {
  try {
    return await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  } catch {
    return null;
  }
}

function withNavigatorGpu<T>(gpu: GpuLike, fn: () => T): T {
  const g = globalThis as any;
  if (g.navigator?.gpu) return fn();
  if (g.navigator) {
    // Node >= 21 has a navigator without gpu.
    Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true, writable: true });
    try {
      return fn();
    } finally {
      delete g.navigator.gpu;
    }
  }
  Object.defineProperty(g, 'navigator', { value: { gpu }, configurable: true, writable: true });
  try {
    return fn();
  } finally {
    delete g.navigator;
  }
}

function infoRecord(raw: object): Record<string, string> {
  const out: Record<string, string> = {};
  // GPUAdapterInfo's fields are prototype getters: walk with for-in, not Object.keys.
  for (const k in raw) {
    const v = (raw as Record<string, unknown>)[k];
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

/** The adapter in words; exported for its test. Chrome leaves description and device empty: then vendor and architecture. */
export function describeAdapter(info: Record<string, string>, dawn: boolean): string {
  const vendorArch = [info.vendor, info.architecture].filter(Boolean).join(' ');
  const name = info.description || info.device || vendorArch || 'unknown WebGPU adapter';
  const extra = [
    vendorArch !== name ? vendorArch : '',
    info.device && info.device !== name ? info.device : '',
    info.isFallbackAdapter === 'true' ? 'fallback adapter' : '',
    dawn ? 'Dawn' : '',
  ].filter(Boolean);
  return extra.length ? `${name} (${extra.join(', ')})` : name;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0];
}

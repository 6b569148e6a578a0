import { BackendUnavailableError, ConfigError } from '../errors/index.js';
import { setNativeGemm } from '../kernels/native-gemm.js';

/** Whether the wasm backend's f32 products run on @hypernets/native's BLAS. */
export type NativePreference = 'auto' | boolean;

/** What initBackend reports about the native GEMM of the wasm backend. */
export interface NativeInfo {
  /** The wasm backend's f32 products run on the native BLAS. */
  used: boolean;
  /** The library and threads when used; otherwise why not, and how to get it. */
  detail: string;
}

const optionalImport = (name: string): Promise<any> => import(/* @vite-ignore */ name);

function parse(v: NativePreference | string | undefined, source: string): NativePreference {
  if (v === undefined || v === 'auto' || v === '') return 'auto';
  if (v === true || v === '1' || v === 'true') return true;
  if (v === false || v === '0' || v === 'false') return false;
  throw new ConfigError(source, `'${String(v)}' is not one of auto, 1 (require it), 0 (off)`);
}

/**
 * Turns the native GEMM on for the wasm backend when @hypernets/native loads (addon and OpenBLAS),
 * off otherwise, and says which and why. `preference` (initBackend's `native` option, else
 * HYPERNETS_NATIVE): 'auto' uses it when it loads; true requires it (BackendUnavailableError
 * saying what is missing); false keeps pure wasm.
 */
export async function startNative(preference: NativePreference | undefined, isNode: boolean): Promise<NativeInfo> {
  setNativeGemm(null);
  const pref =
    preference !== undefined
      ? parse(preference, 'native')
      : parse(isNode ? process.env.HYPERNETS_NATIVE : undefined, 'HYPERNETS_NATIVE');
  if (pref === false) return { used: false, detail: 'off (native: false or HYPERNETS_NATIVE=0)' };
  const missing = (why: string): NativeInfo => {
    if (pref === true) throw new BackendUnavailableError('wasm', `the native GEMM was required but ${why}`, 'cpu');
    return { used: false, detail: why };
  };
  if (!isNode) return missing('it runs in Node only');
  let mod: { loadNative(): { ok: true; kernels: any } | { ok: false; reason: string } };
  try {
    mod = await optionalImport('@hypernets/native');
  } catch {
    return missing('@hypernets/native is not installed (npm install @hypernets/native: OpenBLAS matrix products)');
  }
  const r = mod.loadNative();
  if (!r.ok) return missing(r.reason);
  setNativeGemm(r.kernels);
  return { used: true, detail: `${r.kernels.library} (${r.kernels.config}), ${r.kernels.threads} thread(s)` };
}

/**
 * Vulkan driver discovery for the WebGPU backend in Node (Dawn runs on Vulkan on Linux).
 *
 * On a machine without a GPU the one Vulkan driver new enough for Dawn is SwiftShader, which
 * ships inside Chromium (Debian package `chromium`: /usr/lib/chromium/vk_swiftshader_icd.json).
 * Mesa's lavapipe (llvmpipe) is too old for Dawn on the distributions CI runs, so it does not
 * count as a driver here.
 *
 * The rule for VK_ICD_FILENAMES (see `configureVulkanDriver`): it is set only when
 *   1. the process runs on Linux, and
 *   2. none of VK_ICD_FILENAMES, VK_DRIVER_FILES, VK_ADD_DRIVER_FILES is set (the user or CI
 *      has chosen a driver: respect it), and
 *   3. no hardware driver manifest is installed in the Vulkan loader's search paths
 *      (a real GPU wins over a software one), and
 *   4. a SwiftShader manifest whose library exists is found.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** Where distributions and browsers put SwiftShader's Vulkan ICD manifest. */
export const SWIFTSHADER_ICD_PATHS: readonly string[] = [
  '/usr/lib/chromium/vk_swiftshader_icd.json', // Debian `chromium`
  '/usr/lib/chromium-browser/vk_swiftshader_icd.json', // Ubuntu (pre-snap), Alpine, Arch
  '/usr/lib64/chromium-browser/vk_swiftshader_icd.json', // Fedora, openSUSE
  '/usr/lib64/chromium/vk_swiftshader_icd.json',
  '/snap/chromium/current/usr/lib/chromium-browser/vk_swiftshader_icd.json', // Ubuntu snap
  '/opt/google/chrome/vk_swiftshader_icd.json', // Google Chrome .deb/.rpm
  '/opt/google/chrome-beta/vk_swiftshader_icd.json',
  '/opt/chromium.org/chromium/vk_swiftshader_icd.json',
];

/** Software Vulkan drivers: they do not count as "a real GPU is present". */
const SOFTWARE_DRIVER = /swiftshader|lvp|lavapipe|llvmpipe/i;

/** The library an ICD manifest points at, resolved the way the Vulkan loader does. */
function icdLibrary(manifest: string): string | undefined {
  try {
    const json = JSON.parse(readFileSync(manifest, 'utf8')) as { ICD?: { library_path?: string } };
    const lib = json.ICD?.library_path;
    if (!lib) return undefined;
    // A bare name ("libvulkan_lvp.so") is looked up by the dynamic linker; a path is relative to the manifest.
    return isAbsolute(lib) || !lib.includes('/') ? lib : resolve(dirname(manifest), lib);
  } catch {
    return undefined;
  }
}

function usableSwiftShader(manifest: string): boolean {
  if (!existsSync(manifest)) return false;
  const lib = icdLibrary(manifest);
  return lib !== undefined && (!lib.includes('/') || existsSync(lib));
}

/** Playwright's bundled Chromium also carries SwiftShader. */
function playwrightCandidates(): string[] {
  const root = process.env.PLAYWRIGHT_BROWSERS_PATH || join(homedir(), '.cache', 'ms-playwright');
  const out: string[] = [];
  try {
    for (const d of readdirSync(root)) {
      if (!d.startsWith('chromium')) continue;
      for (const sub of ['chrome-linux', 'chrome-linux64', 'chrome-headless-shell-linux64'])
        out.push(join(root, d, sub, 'vk_swiftshader_icd.json'));
    }
  } catch {
    /* no Playwright browsers */
  }
  return out;
}

/**
 * The path of a SwiftShader Vulkan ICD manifest on this machine (whose driver library exists),
 * or undefined. Install one on Debian with `apt-get install chromium` (.ci/install-webgpu.sh).
 */
export function findSwiftShaderIcd(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  for (const p of [...SWIFTSHADER_ICD_PATHS, ...playwrightCandidates()]) if (usableSwiftShader(p)) return p;
  return undefined;
}

/** The directories the Vulkan loader searches for ICD manifests (Linux). */
function icdSearchDirs(): string[] {
  const env = process.env;
  const config = (env.XDG_CONFIG_DIRS || '/etc/xdg').split(':');
  const data = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const home = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return [
    ...config.map((d) => join(d, 'vulkan', 'icd.d')),
    '/etc/vulkan/icd.d',
    ...data.map((d) => join(d, 'vulkan', 'icd.d')),
    '/usr/share/vulkan/icd.d',
    join(home, 'vulkan', 'icd.d'),
  ].filter((d, i, all) => d && all.indexOf(d) === i);
}

/** Installed Vulkan ICD manifests of hardware drivers (NVIDIA, AMD, Intel, …), software ones excluded. */
export function findHardwareVulkanIcds(): string[] {
  if (process.platform !== 'linux') return [];
  const found: string[] = [];
  for (const dir of icdSearchDirs()) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      const manifest = join(dir, n);
      const lib = icdLibrary(manifest);
      // An unreadable manifest loads no driver either.
      if (!lib || SOFTWARE_DRIVER.test(n) || SOFTWARE_DRIVER.test(lib)) continue;
      found.push(manifest);
    }
  }
  return found;
}

/** The environment variables through which a Vulkan driver can be chosen explicitly. */
export const VULKAN_DRIVER_ENV = ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'VK_ADD_DRIVER_FILES'] as const;

export interface VulkanDriverChoice {
  /** True when this call set VK_ICD_FILENAMES. */
  set: boolean;
  /** The SwiftShader manifest chosen, when set. */
  icd?: string;
  /** Why it was or was not set, in words. */
  reason: string;
}

/**
 * Points the Vulkan loader at SwiftShader when nothing else is configured and no hardware
 * driver is installed (the rule is in this file's header). Must run before Dawn creates its
 * Vulkan instance (`create()` from the `webgpu` package). `force` skips rule 3 (hardware
 * manifests present): used to retry after a hardware driver produced no adapter.
 */
export function configureVulkanDriver(options: { force?: boolean } = {}): VulkanDriverChoice {
  if (process.platform !== 'linux') return { set: false, reason: `not Linux (${process.platform})` };
  const configured = VULKAN_DRIVER_ENV.filter((k) => process.env[k]);
  if (configured.length) return { set: false, reason: `${configured.join(', ')} already set` };
  if (!options.force) {
    const hw = findHardwareVulkanIcds();
    if (hw.length) return { set: false, reason: `hardware Vulkan driver installed (${hw.join(', ')})` };
  }
  const icd = findSwiftShaderIcd();
  if (!icd) return { set: false, reason: 'no SwiftShader ICD found (apt-get install chromium)' };
  process.env.VK_ICD_FILENAMES = icd;
  return { set: true, icd, reason: `VK_ICD_FILENAMES=${icd} (SwiftShader)` };
}

/** The Vulkan loader Dawn opens on Linux (`dlopen("libvulkan.so.1")`). */
export const VULKAN_LOADER = 'libvulkan.so.1';

/** Where `findVulkanLoader` looks; every field defaults to what the dynamic linker uses. */
export interface VulkanLoaderSearch {
  /** Colon-separated directories searched first. Default: process.env.LD_LIBRARY_PATH. */
  libraryPath?: string;
  /** The dynamic linker's cache (`ldconfig`), or null to skip it. Default: /etc/ld.so.cache. */
  ldCache?: string | null;
  /** The linker's default directories. Default: DEFAULT_LIBRARY_DIRS. */
  dirs?: readonly string[];
}

const MULTIARCH: Record<string, string> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  ia32: 'i386-linux-gnu',
};

/** The dynamic linker's trusted directories, Debian multiarch ones included. */
export const DEFAULT_LIBRARY_DIRS: readonly string[] = (() => {
  const triplet = MULTIARCH[process.arch];
  const base = ['/lib', '/usr/lib', '/usr/local/lib', '/lib64', '/usr/lib64'];
  return triplet ? [...['/lib', '/usr/lib', '/usr/local/lib'].map((d) => `${d}/${triplet}`), ...base] : base;
})();

/** Paths of `name` recorded in an ld.so.cache (its strings are NUL-terminated absolute paths). */
function ldCachePaths(cache: string, name: string): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(cache);
  } catch {
    return [];
  }
  const needle = Buffer.from(`/${name}\0`, 'latin1');
  const out: string[] = [];
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    let start = at;
    while (start > 0 && bytes[start - 1] !== 0) start--;
    out.push(bytes.toString('latin1', start, at + needle.length - 1));
  }
  return out;
}

/**
 * Where the dynamic linker would find the Vulkan loader (libvulkan.so.1), or undefined when it
 * cannot: LD_LIBRARY_PATH, then the ld.so cache, then the default directories. Linux only
 * (elsewhere Dawn does not load it: returns 'not needed'). Checked before Dawn starts, because
 * Dawn prints "Warning: Couldn't load Vulkan: …" to the terminal on every run without it.
 */
export function findVulkanLoader(search: VulkanLoaderSearch = {}): string | undefined {
  if (process.platform !== 'linux') return 'not needed';
  const fromEnv = (search.libraryPath ?? process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  for (const d of fromEnv) if (existsSync(join(d, VULKAN_LOADER))) return join(d, VULKAN_LOADER);
  const cache = search.ldCache === undefined ? '/etc/ld.so.cache' : search.ldCache;
  if (cache) for (const p of ldCachePaths(cache, VULKAN_LOADER)) if (existsSync(p)) return p;
  for (const d of search.dirs ?? DEFAULT_LIBRARY_DIRS)
    if (existsSync(join(d, VULKAN_LOADER))) return join(d, VULKAN_LOADER);
  return undefined;
}

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendUnavailableError } from '../errors/index.js';
import { initBackend, shutdownBackend } from './index.js';
import { startWebgpu } from './webgpu.js';
import { findVulkanLoader, VULKAN_LOADER } from './vulkan.js';

// Without the Vulkan loader, Dawn prints "Warning: Couldn't load Vulkan: libvulkan.so.1 …" to
// the terminal on every run. The probe looks first, as the dynamic linker would; here it is
// pointed at an empty folder (no LD_LIBRARY_PATH, no ld.so cache) to stand for such a machine.
const linux = process.platform === 'linux';
const tmp = mkdtempSync(join(tmpdir(), 'hypernets-vulkan-'));
const empty = join(tmp, 'empty');
mkdirSync(empty);
const NO_LOADER = { libraryPath: '', ldCache: null, dirs: [empty] };
const REASON = /libvulkan\.so\.1 not found \(apt-get install libvulkan1/;

afterAll(async () => {
  await shutdownBackend();
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!linux)('Vulkan loader probe (Linux)', () => {
  it('finds libvulkan.so.1 through LD_LIBRARY_PATH, the ld.so cache or the default dirs, and nowhere else', () => {
    expect(findVulkanLoader(NO_LOADER)).toBeUndefined();
    const lib = join(tmp, 'lib');
    mkdirSync(lib);
    writeFileSync(join(lib, VULKAN_LOADER), '');
    expect(findVulkanLoader({ ...NO_LOADER, libraryPath: `/nonexistent:${lib}` })).toBe(join(lib, VULKAN_LOADER));
    expect(findVulkanLoader({ ...NO_LOADER, dirs: [empty, lib] })).toBe(join(lib, VULKAN_LOADER));
    // An ld.so.cache holds NUL-terminated paths; one that names a missing file does not count.
    const cache = join(tmp, 'ld.so.cache');
    writeFileSync(
      cache,
      Buffer.from(
        `glibc-ld.so.cache1.1\0libvulkan.so.1\0/gone/${VULKAN_LOADER}\0libc.so.6\0/lib/libc.so.6\0`,
        'latin1',
      ),
    );
    expect(findVulkanLoader({ ...NO_LOADER, ldCache: cache })).toBeUndefined();
    writeFileSync(cache, Buffer.from(`glibc-ld.so.cache1.1\0libvulkan.so.1\0${lib}/${VULKAN_LOADER}\0`, 'latin1'));
    expect(findVulkanLoader({ ...NO_LOADER, ldCache: cache })).toBe(join(lib, VULKAN_LOADER));
    // This machine, as configured: whatever is found is the loader.
    const here = findVulkanLoader();
    if (here !== undefined) expect(here.endsWith(VULKAN_LOADER)).toBe(true);
  });

  it("'webgpu' without the loader: BackendUnavailableError naming libvulkan.so.1 and the package", async () => {
    const err = await startWebgpu({ vulkanLoader: NO_LOADER }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as BackendUnavailableError).reason).toMatch(REASON);
    expect((err as BackendUnavailableError).next).toBe('wasm');
    await expect(initBackend('webgpu', { webgpu: { vulkanLoader: NO_LOADER } })).rejects.toThrow(REASON);
  });

  it("'auto' without the loader skips webgpu with that reason and prints nothing from Dawn (child process, stderr captured)", () => {
    const index = resolve(fileURLToPath(new URL('./index.ts', import.meta.url)));
    const script =
      `const { initBackend } = await import(${JSON.stringify(index)});` +
      `const info = await initBackend('auto', { webgpu: { vulkanLoader: ${JSON.stringify(NO_LOADER)} } });` +
      'console.log(JSON.stringify({ backend: info.backend, skipped: info.skipped })); process.exit(0);';
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--conditions=@hypernets/source', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, HYPERNETS_BACKEND: '' },
      },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Couldn't load Vulkan/);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      backend: string;
      skipped: { backend: string; reason: string }[];
    };
    expect(out.backend).toBe('wasm');
    const webgpu = out.skipped.find((s) => s.backend === 'webgpu');
    expect(webgpu?.reason).toMatch(REASON);
  });
});

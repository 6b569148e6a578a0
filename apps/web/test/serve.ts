// Test and benchmark helpers: build the app with Vite, serve dist/ with `vite preview` (COOP/COEP
// headers from vite.config.ts) on 127.0.0.1 and a free port, find Chromium.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const VITE = join(APP_DIR, 'node_modules/vite/bin/vite.js');

/** Debian's chromium (CI installs it with .ci/install-webgpu.sh); CHROMIUM overrides. */
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** What headless Chromium needs here: the background-networking flags (connections are refused otherwise), unsafe WebGPU (SwiftShader). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--enable-unsafe-webgpu',
];

/** vite runs in a child with the environment of a plain shell (no vitest NODE_ENV=test). */
function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('VITEST') || k === 'NODE_ENV' || k === 'TEST') delete env[k];
  return env;
}

export function buildApp(): void {
  const r = spawnSync(process.execPath, [VITE, 'build', '--logLevel', 'warn'], {
    cwd: APP_DIR,
    env: childEnv(),
    encoding: 'utf8',
    timeout: 180_000,
  });
  if (r.status !== 0) throw new Error(`vite build failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  if (!existsSync(join(APP_DIR, 'dist/index.html'))) throw new Error('vite build wrote no dist/index.html');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** `vite preview` of dist/ on 127.0.0.1 (a secure context: WebGPU and SharedArrayBuffer need one). */
export async function serveApp(): Promise<Served> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [VITE, 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { cwd: APP_DIR, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode}):\n${log}`);
    try {
      const res = await fetch(url);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`vite preview did not answer on ${url} within 30 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}

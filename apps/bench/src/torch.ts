import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Debian's PyTorch lives under the system interpreter, not a pyenv/venv one on PATH. */
const PYTHON = '/usr/bin/python3';

function hasTorch(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/**
 * Debian's python3-torch links the system libblas.so.3, which is the unoptimised reference BLAS
 * unless an optimised one is installed as its alternative: a [128,1024]·[1024,1000] product takes
 * 340 ms with the reference BLAS and 8 ms with OpenBLAS (2-core VM). Comparing against the
 * former flatters us, so the benchmarks install OpenBLAS next to PyTorch.
 */
function hasOpenBlas(): boolean {
  return (
    existsSync('/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3') ||
    existsSync('/usr/lib/aarch64-linux-gnu/openblas-pthread/libblas.so.3')
  );
}

/**
 * Makes sure Debian's python3-torch (with OpenBLAS as the system BLAS) is importable, installing
 * them with apt-get when missing and we are root. Returns a reason string when they cannot be had.
 */
export function ensureTorch(): string | null {
  if (hasTorch() && hasOpenBlas()) return null;
  if (process.getuid?.() !== 0)
    return `PyTorch with OpenBLAS is not installed for ${PYTHON} and installing it needs root (apt-get install python3-torch libopenblas0-pthread)`;
  console.log('installing python3-torch and libopenblas0-pthread with apt-get (once) …');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
  const r = spawnSync('apt-get', ['install', '-y', '-q', 'python3-torch', 'libopenblas0-pthread'], {
    stdio: 'ignore',
    env,
  });
  if (r.status !== 0 || !hasTorch() || !hasOpenBlas())
    return 'apt-get install python3-torch libopenblas0-pthread failed';
  return null;
}

/** A Python module a reference script imports, and the Debian package that provides it. */
export interface PythonModule {
  module: string;
  deb: string;
}

/** The modules of `mods` that PYTHON cannot import (checked with importlib, nothing is imported). */
function missingModules(mods: readonly PythonModule[]): PythonModule[] {
  const code =
    'import importlib.util, sys; print(" ".join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))';
  const r = spawnSync(PYTHON, ['-c', code, ...mods.map((m) => m.module)], { encoding: 'utf8' });
  if (r.status !== 0) return [...mods];
  const missing = new Set(r.stdout.trim().split(/\s+/).filter(Boolean));
  return mods.filter((m) => missing.has(m.module));
}

/**
 * Makes sure PyTorch (`ensureTorch`) and the Python modules a reference script imports are there
 * for PYTHON, installing the missing ones' Debian packages with apt-get when root, as
 * `ensureTorch` does. Returns a reason string, saying what to install, when they cannot be had.
 */
export function ensurePythonModules(mods: readonly PythonModule[], who: string): string | null {
  const why = ensureTorch();
  if (why) return why;
  let missing = missingModules(mods);
  if (missing.length === 0) return null;
  const debs = [...new Set(missing.map((m) => m.deb))];
  const what = `${who} imports ${missing.map((m) => m.module).join(', ')}, not installed for ${PYTHON}`;
  if (process.getuid?.() !== 0) return `${what}: install them with apt-get install ${debs.join(' ')} (needs root)`;
  console.log(`${what}: installing ${debs.join(' ')} with apt-get (once) …`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
  const r = spawnSync('apt-get', ['install', '-y', '-q', ...debs], { stdio: 'ignore', env });
  missing = missingModules(mods);
  if (r.status !== 0 || missing.length) return `${what}: apt-get install ${debs.join(' ')} failed`;
  return null;
}

/** Environment for a PyTorch process limited to `threads` threads (PyTorch's own and OpenBLAS's). */
export function torchEnv(threads: number): NodeJS.ProcessEnv {
  return { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) };
}

/** Runs a script from apps/bench/python and parses its last stdout line as JSON. */
export function runTorchScript(script: string, args: (string | number)[], threads: number): Record<string, unknown> {
  const path = fileURLToPath(new URL(`../python/${script}`, import.meta.url));
  const r = spawnSync(PYTHON, [path, ...args.map(String)], { encoding: 'utf8', env: torchEnv(threads) });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * The PyTorch half of a step benchmark: runs `script` (apps/bench/python) with `args`, prints its
 * median next to ours and the wasm / torch ratio, and the workload's JSON line. With `cpuMs`
 * (our CPU-time medians) and a script that reports `torch_cpu_ms`, also the ratio of CPU times,
 * which a loaded machine distorts less than the wall-time one.
 */
export function reportAgainstTorch(
  workload: string,
  ms: Record<string, number | string>,
  script: string,
  args: (string | number)[],
  threads: number,
  label: string,
  extra: Record<string, unknown> = {},
  cpuMs?: Record<string, number>,
  /** The workload's target ratio ours / PyTorch (printed with the ratios). */
  target = 1.0,
): void {
  let torch_ms: number | null = null;
  let torch: Record<string, unknown> | string;
  const why = ensureTorch();
  if (why) {
    torch = `skipped: ${why}`;
    console.log(`torch   skipped: ${why}`);
  } else {
    torch = runTorchScript(script, args, threads);
    torch_ms = torch.torch_ms as number;
    const cpu = typeof torch.torch_cpu_ms === 'number' ? `; CPU ${torch.torch_cpu_ms} ms` : '';
    console.log(
      `torch   ${String(torch_ms).padStart(9)} ms/step (${label}${cpu})  PyTorch ${torch.torch_version}, ${torch.threads} thread(s), ${torch.blas} BLAS`,
    );
  }
  const best = typeof ms.wasm === 'number' ? ms.wasm : null;
  const ratio = best !== null && torch_ms ? +(best / torch_ms).toFixed(3) : null;
  if (ratio !== null) console.log(`ratio wasm / torch = ${ratio} (target ≤ ${target})`);
  const torchCpu = typeof torch === 'object' && typeof torch.torch_cpu_ms === 'number' ? torch.torch_cpu_ms : null;
  const cpu_ratio = cpuMs?.wasm !== undefined && torchCpu ? +(cpuMs.wasm / torchCpu).toFixed(3) : null;
  if (cpu_ratio !== null) console.log(`ratio of CPU times wasm / torch = ${cpu_ratio} (target ≤ ${target})`);
  console.log(
    JSON.stringify({
      workload,
      ...extra,
      ms,
      torch_ms,
      ratio,
      ...(cpuMs ? { cpu_ms: cpuMs, torch_cpu_ms: torchCpu, cpu_ratio } : {}),
      torch,
    }),
  );
}

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Debian's PyTorch lives under the system interpreter, not a pyenv/venv one on PATH. */
const PYTHON = '/usr/bin/python3';

function hasTorch(): boolean {
  return spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/**
 * Makes sure Debian's python3-torch is importable, installing it with apt-get when missing
 * and we are root. Returns a reason string when PyTorch cannot be had.
 */
export function ensureTorch(): string | null {
  if (hasTorch()) return null;
  if (process.getuid?.() !== 0) return `PyTorch is not installed for ${PYTHON} and installing it needs root (apt-get install python3-torch)`;
  console.log('installing python3-torch with apt-get (once) …');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-q'], { stdio: 'ignore', env });
  const r = spawnSync('apt-get', ['install', '-y', '-q', 'python3-torch'], { stdio: 'ignore', env });
  if (r.status !== 0 || !hasTorch()) return 'apt-get install python3-torch failed';
  return null;
}

/** Runs a script from apps/bench/python and parses its last stdout line as JSON. */
export function runTorchScript(script: string, args: (string | number)[]): Record<string, unknown> {
  const path = fileURLToPath(new URL(`../python/${script}`, import.meta.url));
  const r = spawnSync(PYTHON, [path, ...args.map(String)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

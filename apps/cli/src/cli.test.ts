import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runDemo } from './demo.js';

const bin = fileURLToPath(new URL('./bin.ts', import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@hypernets/source', bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HYPERNETS_BACKEND: 'cpu' },
    timeout: 60_000,
  });

describe('hypernets demo', () => {
  it('trains a hypernetwork whose held-out loss falls', async () => {
    const lines: string[] = [];
    const r = await runDemo({
      backend: 'wasm',
      steps: 80,
      seed: 0,
      tasksPerBatch: 8,
      pointsPerTask: 16,
      log: (l) => lines.push(l),
    });
    expect(r.backend).toBe('wasm');
    expect(r.end).toBeLessThan(r.start / 3);
    expect(lines.some((l) => l.includes('held-out loss'))).toBe(true);
  });

  it('is reproducible: same seed, same losses', async () => {
    const run = () =>
      runDemo({ backend: 'wasm', steps: 10, seed: 3, tasksPerBatch: 4, pointsPerTask: 8, log: () => {} });
    const a = await run();
    const b = await run();
    expect(a.end).toBe(b.end);
  });

  it('--help loads neither tfjs nor the packages (they load when a command runs)', () => {
    // tfjs-core creates its engine global on import
    const probe =
      `const { buildProgram } = await import(${JSON.stringify(pathToFileURL(bin).href)}); buildProgram(); ` +
      "process.stdout.write(String('_tfengine' in globalThis));";
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--conditions=@hypernets/source', '--input-type=module', '-e', probe],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('false');
    const help = cli('--help');
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/continual/);
  });

  it('rejects bad options with exit code 2 before any work', () => {
    for (const args of [
      ['demo', '--steps', 'ten'],
      ['demo', '--steps', '0x10'],
      ['demo', '--steps', '1e20'],
      ['demo', '--seed', '99999999999'],
      ['demo', '--backend', 'tpu'],
      ['demo', '--bogus'],
      ['nosuchcommand'],
    ]) {
      const r = cli(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/error/i);
      expect(r.stdout).not.toMatch(/backend:/);
    }
  });
});

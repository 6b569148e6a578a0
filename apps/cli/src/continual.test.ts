import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, UsageError } from './continual/options.js';

const bin = fileURLToPath(new URL('./bin.ts', import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@hypernets/source', bin, ...args], { encoding: 'utf8', env: { ...process.env, HYPERNETS_BACKEND: 'cpu' } });

describe('hypernets continual: options', () => {
  it('benchmark defaults are the paper protocol; file and flags override in that order', () => {
    const split = resolveConfig({}, null);
    expect([split.benchmark, split.tasks, split.targetHidden, split.hnet.chunkSize, split.hnet.taskEmbedding, split.hnet.beta, split.lr]).toEqual(['split-mnist', 5, [400, 400], 42000, 96, 0.01, 1e-3]);
    const perm = resolveConfig({ benchmark: 'permuted-mnist' }, null);
    expect([perm.tasks, perm.targetHidden, perm.hnet.hidden, perm.hnet.chunkSize, perm.hnet.taskEmbedding, perm.hnet.chunkEmbedding, perm.hnet.beta, perm.lr]).toEqual([10, [1000, 1000], [25, 25], 78000, 24, 8, 0.1, 1e-4]);
    const both = resolveConfig({ iterations: 7 }, { iterations: 9, seed: 3, hnet: { beta: 0.5 } }, 'c.json');
    expect([both.iterations, both.seed, both.hnet.beta, both.hnet.chunkSize]).toEqual([7, 3, 0.5, 42000]);
  });
  it('bad values name the flag or the config key', () => {
    expect(() => resolveConfig({ tasks: 0 }, null)).toThrow(/--tasks/);
    expect(() => resolveConfig({ hnet: { chunkSize: 1.5 } }, null)).toThrow(/--chunk-size/);
    expect(() => resolveConfig({}, { itrations: 5 }, 'c.json')).toThrow(/c\.json: unknown key\(s\) 'itrations'/);
    expect(() => resolveConfig({}, { hnet: { beta: -1 } }, 'c.json')).toThrow(/c\.json: 'hnet\.beta'/);
    expect(() => resolveConfig({ benchmark: 'cifar' }, null)).toThrow(UsageError);
  });
});

describe('hypernets continual: command', () => {
  it('rejects bad input with exit code 2 before any work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-cli-'));
    const badJson = join(dir, 'bad.json');
    writeFileSync(badJson, '{ "iterations": ');
    for (const args of [
      ['continual', '--scenario', 'cl4'],
      ['continual', '--iterations', 'many'],
      ['continual', '--tasks', '0'],
      ['continual', '--target-hidden', '400,x'],
      ['continual', '--frobnicate'],
      ['continual', '--config', join(dir, 'missing.json')],
      ['continual', '--config', badJson],
      ['continual', '--benchmark', 'split-mnist', '--tasks', '6'],
    ]) {
      const r = cli(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/error/i);
      expect(r.stderr + r.stdout).not.toMatch(/backend:/);
    }
  });

  it('a tiny run prints the accuracy matrix and writes results.json, plots and summary.md; --json gives one line', () => {
    const out = mkdtempSync(join(tmpdir(), 'hn-cli-run-'));
    const r = cli('continual', '--tasks', '2', '--iterations', '12', '--target-hidden', '32', '--chunk-size', '4000', '--task-emb', '8', '--chunk-emb', '8', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(1);
    const j = JSON.parse(lines[0]!);
    expect(j).toMatchObject({ benchmark: 'split-mnist', scenario: 'cl1', method: 'hnet', backend: 'cpu' });
    expect(j.acc_matrix.length).toBe(2);
    expect(j.acc_matrix[0][1]).toBeNull();
    expect(j.avg_acc).toBeGreaterThan(0.8);
    expect(r.stderr).toMatch(/after \\ task/);
    for (const f of ['results.json', 'accuracy-matrix.svg', 'accuracy-matrix.png', 'learning-curves.svg', 'learning-curves.png', 'summary.md', 'checkpoint.json', 'checkpoint.safetensors'])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).acc_matrix).toEqual(j.acc_matrix);
    // --resume on a finished run: nothing left to train, same matrix
    const again = cli('continual', '--tasks', '2', '--iterations', '12', '--target-hidden', '32', '--chunk-size', '4000', '--task-emb', '8', '--chunk-emb', '8', '--out', out, '--json', '--resume');
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim()).acc_matrix).toEqual(j.acc_matrix);
  });
});

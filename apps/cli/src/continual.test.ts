import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HypernetsError } from '@hypernets/core/errors';
import { fingerprintOf, resolveConfig, UsageError } from './continual/options.js';
import { fakeCheckpoint } from './testing/helpers.js';

const bin = fileURLToPath(new URL('./bin.ts', import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@hypernets/source', bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HYPERNETS_BACKEND: 'cpu' },
    timeout: 120_000,
  });

/** A run small enough that code which wrongly accepts a bad option finishes in seconds (and the test fails, not hangs). */
const TINY = [
  'continual',
  '--tasks',
  '1',
  '--iterations',
  '3',
  '--target-hidden',
  '8',
  '--chunk-size',
  '500',
  '--task-emb',
  '4',
  '--chunk-emb',
  '4',
];
const TINY_FLAGS = {
  tasks: 1,
  iterations: 3,
  targetHidden: [8],
  hnet: { chunkSize: 500, taskEmbedding: 4, chunkEmbedding: 4 },
};

describe('hypernets continual: options', () => {
  it('benchmark defaults are the paper protocol; file and flags override in that order', () => {
    const split = resolveConfig({}, null);
    expect([
      split.benchmark,
      split.tasks,
      split.targetHidden,
      split.hnet.chunkSize,
      split.hnet.taskEmbedding,
      split.hnet.beta,
      split.lr,
    ]).toEqual(['split-mnist', 5, [400, 400], 42000, 96, 0.01, 1e-3]);
    const perm = resolveConfig({ benchmark: 'permuted-mnist' }, null);
    expect([
      perm.tasks,
      perm.targetHidden,
      perm.hnet.hidden,
      perm.hnet.chunkSize,
      perm.hnet.taskEmbedding,
      perm.hnet.chunkEmbedding,
      perm.hnet.beta,
      perm.lr,
    ]).toEqual([10, [1000, 1000], [25, 25], 78000, 24, 8, 0.1, 1e-4]);
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
  it('UsageError is a HypernetsError with isInstance (what bin.ts tests) and cause', () => {
    const cause = new Error('ENOENT');
    const e = new UsageError('--config c.json: cannot read it', { cause });
    expect([e.name, e.message, e.cause]).toEqual(['UsageError', '--config c.json: cannot read it', cause]);
    expect([UsageError.isInstance(e), HypernetsError.isInstance(e), UsageError.isInstance(new Error('x'))]).toEqual([
      true,
      true,
      false,
    ]);
  });
  it('numbers are bounded, batch size by the training set; a config file holds an object', () => {
    expect(() => resolveConfig({ iterations: 1e20 }, null)).toThrow(/^--iterations: must be at most 10,000,000/);
    expect(() => resolveConfig({}, { iterations: 1e20 }, 'c.json')).toThrow(/c\.json: 'iterations': must be at most/);
    expect(() => resolveConfig({ batchSize: 1e9 }, null)).toThrow(/^--batch-size: must be at most 60,000/);
    expect(() => resolveConfig({ batchSize: 12000 }, null)).toThrow(
      /^--batch-size: 12000 is larger than Split-MNIST task 3 \(digits 4\/5\)'s training set \(11263 = 11263 images\); use at most 11263/,
    );
    expect(resolveConfig({ batchSize: 12000, tasks: 2 }, null).batchSize).toBe(12000);
    expect(() => resolveConfig({ benchmark: 'permuted-mnist', batchSize: 50000, valSize: 20000 }, null)).toThrow(
      /use at most 40000/,
    );
    expect(() => resolveConfig({ valSize: 13000, tasks: 1 }, null)).toThrow(
      /^--val-size: 13000 leaves no training samples/,
    );
    expect(() => resolveConfig({ seed: 2 ** 32 }, null)).toThrow(/^--seed: must be at most 2,147,483,647/);
    expect(() => resolveConfig({ targetHidden: [400, 1e9] }, null)).toThrow(
      /^--target-hidden: must be at most 100,000/,
    );
    expect(() => resolveConfig({ lr: Infinity }, null)).toThrow(/^--lr: must be finite/);
    expect(() => resolveConfig({ hnet: { beta: -1 } }, null)).toThrow(/^--beta: must be at least 0/);
    for (const [content, what] of [
      [null, 'null'],
      [[1, 2], 'an array'],
      ['iterations', 'a string'],
      [5, 'a number'],
    ] as const)
      expect(() => resolveConfig({}, content, 'c.json')).toThrow(
        new RegExp(`^--config c\\.json: must hold a JSON object of options .*not ${what}$`),
      );
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

  it('rejects bad numbers, config files, --out and --resume with exit code 2 before any work (data, backend)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-cli-pre-'));
    const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
    const aFile = file('a-file', 'x');
    const fresh = () => mkdtempSync(join(dir, 'out-'));
    const cases: [string[], RegExp][] = [
      [
        [...TINY, '--iterations', '0x10', '--out', fresh()],
        /--iterations takes a whole number in decimal digits .*'0x10'/,
      ],
      [[...TINY, '--iterations', '1e20', '--out', fresh()], /--iterations takes a whole number/],
      [[...TINY, '--iterations', '99999999999', '--out', fresh()], /--iterations: must be at most 10,000,000/],
      [[...TINY, '--batch-size', '1e9', '--out', fresh()], /--batch-size takes a whole number/],
      [
        [...TINY, '--batch-size', '20000', '--out', fresh()],
        /--batch-size: 20000 is larger than Split-MNIST task 1 .*use at most 12665/,
      ],
      [[...TINY, '--lr', 'Infinity', '--out', fresh()], /--lr takes a decimal number/],
      [[...TINY, '--lr', '0x10', '--out', fresh()], /--lr takes a decimal number/],
      [
        [...TINY, '--config', file('null.json', 'null'), '--out', fresh()],
        /--config .*null\.json: must hold a JSON object of options .*not null/,
      ],
      [
        [...TINY, '--config', file('array.json', '[1]'), '--out', fresh()],
        /--config .*array\.json: must hold a JSON object .*not an array/,
      ],
      [
        [...TINY, '--config', file('string.json', '"iterations"'), '--out', fresh()],
        /--config .*string\.json: must hold a JSON object .*not a string/,
      ],
      [
        [...TINY, '--out', '/proc/hypernets-run'],
        /--out \/proc\/hypernets-run: \/proc is on procfs, a kernel pseudo-filesystem/,
      ],
      [[...TINY, '--out', aFile], /--out .*a-file: exists and is not a directory/],
      [[...TINY, '--out', join(aFile, 'run')], /--out .*a-file\/run: .*a-file is not a directory/],
    ];
    if (process.platform !== 'linux') cases.splice(10, 1);
    const unmade = join(dir, 'unmade');
    cases.push([['continual', '--tasks', '0', '--out', unmade], /--tasks: must be at least 1/]);
    for (const [args, want] of cases) {
      const t0 = Date.now();
      const r = cli(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(want);
      expect(r.stderr + r.stdout).not.toMatch(/backend:/);
      expect(Date.now() - t0, args.join(' ')).toBeLessThan(30_000);
    }

    expect(existsSync(unmade)).toBe(false); // a usage error creates nothing

    // an --out holding a run: refused without --resume / --overwrite, nothing touched
    const cfg = fingerprintOf(resolveConfig(TINY_FLAGS, null));
    const made = (name: string) => {
      const d = mkdtempSync(join(dir, `${name}-`));
      writeFileSync(join(d, 'results.json'), '{"avg_acc": 0.99}');
      return d;
    };
    const held = made('held');
    fakeCheckpoint(held, cfg);
    const before = statSync(join(held, 'checkpoint.safetensors')).mtimeMs;
    const refused = cli(...TINY, '--out', held);
    expect(refused.status, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(
      new RegExp(
        String.raw`--out .*held-\w+ holds another run \(checkpoint\.json, checkpoint\.safetensors, results\.json\); ` +
          'pass --resume to continue it, a new --out for a new run, or --overwrite to replace it',
      ),
    );
    expect(statSync(join(held, 'checkpoint.safetensors')).mtimeMs).toBe(before);
    expect(readFileSync(join(held, 'results.json'), 'utf8')).toBe('{"avg_acc": 0.99}');
    expect(cli(...TINY, '--out', held, '--resume', '--overwrite').stderr).toMatch(/pass one of them/);

    // --resume of a run with other options, or of a damaged checkpoint
    const otherRun = made('other');
    fakeCheckpoint(otherRun, { ...(cfg as object), iterations: 250 });
    const truncated = made('trunc');
    fakeCheckpoint(truncated, cfg, 'truncate');
    for (const [d, want] of [
      [
        otherRun,
        new RegExp(
          String.raw`--resume: the run in .*other-\w+ was started with other options \(iterations: 250 there, 3 here\); ` +
            'pass the options that run was started with, another --out for a new run, or --overwrite to replace it',
        ),
      ],
      [
        truncated,
        /--resume: the checkpoint in .* cannot be resumed: checkpoint\.safetensors is \d+ bytes but checkpoint\.json records \d+ .*--overwrite/,
      ],
    ] as const) {
      const r = cli(...TINY, '--out', d, '--resume');
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(r.stderr + r.stdout).not.toMatch(/backend:/);
    }
  });

  it('a tiny run prints the accuracy matrix and writes results.json, plots and summary.md; --json gives one line', () => {
    const out = mkdtempSync(join(tmpdir(), 'hn-cli-run-'));
    // A hypernetwork small enough to train in seconds (hidden 32, chunks of 4,000, embeddings 8).
    const run = ['continual', '--tasks', '2', '--iterations', '12', '--target-hidden', '32', '--chunk-size', '4000'];
    const small = [...run, '--task-emb', '8', '--chunk-emb', '8', '--out', out, '--json'];
    const r = cli(...small);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(1);
    const j = JSON.parse(lines[0]!);
    expect(j).toMatchObject({ benchmark: 'split-mnist', scenario: 'cl1', method: 'hnet', backend: 'cpu' });
    expect(j.device).toBe('pure JavaScript'); // the cpu backend's own words, so a result says which path made it
    expect(j.acc_matrix.length).toBe(2);
    expect(j.acc_matrix[0][1]).toBeNull();
    expect(j.avg_acc).toBeGreaterThan(0.8);
    expect(r.stderr).toMatch(/after \\ task/);
    for (const f of [
      'results.json',
      'accuracy-matrix.svg',
      'accuracy-matrix.png',
      'learning-curves.svg',
      'learning-curves.png',
      'summary.md',
      'checkpoint.json',
      'checkpoint.safetensors',
    ])
      expect(existsSync(join(out, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).acc_matrix).toEqual(j.acc_matrix);
    // --resume on a finished run: nothing left to train, same matrix
    const again = cli(...small, '--resume');
    expect(again.status, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout.trim()).acc_matrix).toEqual(j.acc_matrix);
  });
});

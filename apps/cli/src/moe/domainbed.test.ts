import { describe, expect, it } from 'vitest';
import { cli, usageError as exitsWithUsageError } from '../testing/helpers.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from '../ghn/options.js';
import { DG_FILES } from './domainbed-command.js';
import {
  DG_DATASETS,
  DG_DEFAULTS,
  DG_ENVIRONMENTS,
  dgFingerprint,
  dgSchema,
  environmentIndex,
  holdoutSeed,
  resolveDg,
} from './domainbed-options.js';
import type { MoeDgSummary } from './domainbed-report.js';

/** The command exits 2 with `want` on stderr, before a backend starts or data loads. */
const usageError = (args: readonly string[], want: RegExp) =>
  exitsWithUsageError(args, want, /backend:|images \(in \/ out\)/);

const dg = (o: Record<string, unknown>) => () =>
  validate(dgSchema, { ...DG_DEFAULTS, dataset: 'rotated-mnist', algorithm: 'erm', testEnv: '1', ...o });
const resolved = (o: Record<string, unknown>) => resolveDg(dg(o)());

/**
 * A tiny run: ColoredMNIST capped at 40 images per environment (32 in / 8 out), 2 steps of 2 images
 * per training environment, one validation (a few seconds: the CNN is what costs, on every image
 * evaluated).
 */
const TINY = [
  ...['--dataset', 'colored-mnist', '--steps', '2', '--batch-size', '2', '--eval-every', '2'],
  ...['--max-per-env', '40', '--checkpoint-every', '2', '--backend', 'wasm'],
];

describe('hypernets moe domainbed: options', () => {
  it("the datasets and their environments are the library's (kept here so that --help loads no tfjs)", async () => {
    const { DOMAINBED_DATASETS, domainBedFromMnist } = await import('@hypernets/data');
    expect([...DG_DATASETS]).toEqual([...DOMAINBED_DATASETS]);
    // a 12-image MNIST: the environments' names without reading the real one
    const set = (count: number) => ({
      images: new Uint8Array(count * 784),
      labels: new Uint8Array(count),
      count,
      rows: 28,
      cols: 28,
      numClasses: 10,
    });
    const mnist = { train: set(8), test: set(4), source: 'buffers' };
    for (const d of DG_DATASETS)
      expect(domainBedFromMnist(d, mnist).environments.map((e) => e.name)).toEqual([...DG_ENVIRONMENTS[d]]);
  });

  it('--test-env takes an index or a name, the two never disagreeing', () => {
    expect(['0', '15', '1', '75', '5'].map((v) => environmentIndex('rotated-mnist', v))).toEqual([0, 1, 1, 5, 5]);
    expect(['+90%', '-90%', '2', '1'].map((v) => environmentIndex('colored-mnist', v))).toEqual([0, 2, 2, 1]);
    for (const v of ['6', '90', '-1', '1.0', '', ' 1'])
      expect(environmentIndex('rotated-mnist', v), `'${v}'`).toBeNull();
    expect(environmentIndex('colored-mnist', '3')).toBeNull();
    // a name that reads as an index names that same environment
    for (const d of DG_DATASETS)
      DG_ENVIRONMENTS[d].forEach((name, i) => {
        if (/^\d+$/.test(name) && Number(name) < DG_ENVIRONMENTS[d].length) expect(Number(name)).toBe(i);
      });
  });

  it('bad values are UsageErrors naming the flag; defaults; the fingerprint holds what changes training', () => {
    expect(dg({ testEnv: '6' })).toThrow(
      /^--test-env: '6' is not an environment of rotated-mnist: give an index 0 … 5 or a name \(0, 15, 30, 45, 60, 75\)/,
    );
    expect(dg({ dataset: 'colored-mnist', testEnv: '+70%' })).toThrow(
      /^--test-env: '\+70%' is not an environment of colored-mnist: give an index 0 … 2 or a name \(\+90%, \+80%, -90%\)/,
    );
    expect(dg({ dataset: 'pacs' })).toThrow(/^--dataset: 'pacs' is not one of rotated-mnist, colored-mnist/);
    expect(dg({ algorithm: 'irm' })).toThrow(/^--algorithm: 'irm' is not one of erm, hmoe/);
    for (const [key, flag, v] of [
      ['experts', '--experts', 4],
      ['embeddingDim', '--embedding-dim', 8],
      ['temperature', '--temperature', 0.5],
    ] as const)
      expect(dg({ [key]: v })).toThrow(
        new RegExp(`^${flag}: shapes HMOE's mixture only \\(--algorithm hmoe\\), not --algorithm erm`),
      );
    expect(dg({ steps: 10, evalEvery: 11 })).toThrow(/^--eval-every: must be at most --steps \(10\)/);
    expect(dg({ holdout: 1 })).toThrow(/^--holdout: must be less than 1/);
    expect(dg({ holdout: 0 })).toThrow(/^--holdout: must be greater than 0/);
    expect(dg({ maxPerEnv: 4 })).toThrow(
      /^--max-per-env: --holdout 0\.2 of 4 images per environment leaves no validation \(out\) images/,
    );
    expect(dg({ holdout: 0.00001 })).toThrow(
      /^--holdout: --holdout 0\.00001 of 11666 images per environment leaves no validation \(out\) images/,
    );
    expect(dg({ seed: 4_294_967 })).toThrow(/^--seed: must be at most 4,294,966/);
    expect(dg({ lr: 0 })).toThrow(/^--lr: must be greater than 0/);
    expect(dg({ frobnicate: 1 })).toThrow(/unknown option\(s\) --frobnicate/);
    expect(holdoutSeed(4_294_966, 999)).toBeLessThanOrEqual(2 ** 32 - 1);

    expect(resolved({ algorithm: 'hmoe', testEnv: '45' })).toMatchObject({
      testEnv: 3,
      testEnvName: '45',
      evalEvery: 100,
      experts: 3,
      embeddingDim: 4,
      temperature: 1,
      maxPerEnv: null,
    });
    expect(resolved({ steps: 50 })).toMatchObject({
      evalEvery: 50,
      experts: null,
      embeddingDim: null,
      temperature: null,
    });
    const o = resolved({ algorithm: 'hmoe', testEnv: '15' });
    const fp = (x: Record<string, unknown>) => dgFingerprint({ ...o, ...x });
    // not the backend nor the checkpoint spacing; the test environment by index
    expect(fp({ backend: 'cpu', checkpointEvery: 7 })).toEqual(fp({}));
    expect(dgFingerprint(resolved({ algorithm: 'hmoe', testEnv: '1' }))).toEqual(fp({}));
    for (const x of [{ lr: 1e-2 }, { testEnv: 2 }, { experts: 4 }, { holdout: 0.1 }, { maxPerEnv: 100 }, { seed: 1 }])
      expect(fp(x)).not.toEqual(fp({}));
  });

  // (a few end to end: the schema's every check is above)
  it('the command exits with code 2 naming the flag, before any work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-dg-opts-'));
    const held = join(dir, 'held');
    mkdirSync(held);
    writeFileSync(join(held, 'results.json'), '{}');
    const out = ['--out', join(dir, 'run')];
    const args = (...a: string[]) => ['moe', 'domainbed', ...a];
    const erm = (...a: string[]) => args('--dataset', 'rotated-mnist', '--algorithm', 'erm', ...a);
    for (const [argv, want] of [
      [
        args('--dataset', 'pacs', '--algorithm', 'erm', '--test-env', '0', ...out),
        /--dataset <dataset>' argument 'pacs' is invalid/,
      ],
      [
        erm('--test-env', '0', ...out).map((a) => (a === 'erm' ? 'irm' : a)),
        /--algorithm <algorithm>' argument 'irm' is invalid/,
      ],
      [erm(...out), /required option '--test-env <env>' not specified/],
      [erm('--test-env', '6', ...out), /--test-env: '6' is not an environment of rotated-mnist: give an index 0 … 5/],
      [erm('--test-env', '15', '--experts', '4', ...out), /--experts: shapes HMOE's mixture only \(--algorithm hmoe\)/],
      [erm('--test-env', '15', ...out, '--resume'), /--resume: .*run holds no checkpoint to continue/],
      [erm('--test-env', '15', '--out', held), /--out .*held holds another run \(results\.json\); pass --resume/],
    ] as const)
      usageError(argv, want);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });
});

const readResults = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as MoeDgSummary;

describe('hypernets moe domainbed', () => {
  const root = mkdtempSync(join(tmpdir(), 'hn-dg-'));
  const run = join(root, 'hmoe');

  it('trains a tiny HMOE on capped ColoredMNIST, writes the report and one --json line; resumes by index', () => {
    const r = cli('moe', 'domainbed', ...TINY, '--algorithm', 'hmoe', '--test-env', '-90%', '--out', run, '--json');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!) as Record<string, unknown> & { test_acc: number; val_acc: number };
    expect(Object.keys(j)).toEqual([
      'dataset',
      'algorithm',
      'test_env',
      'test_acc',
      'val_acc',
      'seconds',
      'backend',
      'device',
      'out',
    ]);
    expect(j).toMatchObject({ dataset: 'colored-mnist', algorithm: 'hmoe', test_env: 2, backend: 'wasm', out: run });
    // 32 test images (the in split of 40), 2 × 8 validation images
    expect(Number.isInteger(j.test_acc * 32)).toBe(true);
    expect(Number.isInteger(j.val_acc * 16)).toBe(true);
    expect(r.stderr).toMatch(/colored-mnist: \+90% 32 \/ 8, \+80% 32 \/ 8, -90% 32 \/ 8 images \(in \/ out\)/);
    expect(r.stderr).toMatch(/step 2\/2 loss [\d.]+ validation/);
    expect(r.stderr).toMatch(/step 2: training-domain validation [\d.]+% \(best\)/);
    for (const f of DG_FILES) expect(existsSync(join(run, f)), f).toBe(true);

    const s = readResults(run);
    expect(s).toMatchObject({
      command: 'moe domainbed',
      dataset: 'colored-mnist',
      algorithm: 'hmoe',
      environments: ['+90%', '+80%', '-90%'],
      testEnvName: '-90%',
      config: { testEnv: 2, steps: 2, batchSize: 2, evalEvery: 2, holdout: 0.2, maxPerEnv: 40, experts: 3 },
      model: { algorithm: 'hmoe', inputShape: [28, 28, 2], numClasses: 2, hmoe: { experts: 3, embeddingDim: 4 } },
      data: {
        seed: 0,
        environments: [0, 1, 2].map((i) => ({ images: 40, in: 32, out: 8, holdoutSeed: i })),
      },
      result: { algorithm: 'hmoe', testEnv: 2, testAcc: j.test_acc, valAcc: j.val_acc, bestStep: 2, steps: 2 },
      backend: 'wasm',
    });
    expect(s.result.curve.map((p) => p.step)).toEqual([1, 2]);
    expect(s.result.evals.map((e) => [e.step, e.perEnv.length])).toEqual([[2, 2]]);
    expect(s.result.gateUsage).toHaveLength(3);
    for (const row of s.result.gateUsage!) {
      expect(row).toHaveLength(3);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    const md = readFileSync(join(run, 'summary.md'), 'utf8');
    expect(md).toContain(`Test accuracy on -90% (its in split, 32 images): **${(100 * j.test_acc).toFixed(2)}%**`);
    expect(md).toMatch(/\| \+90% \| training \| out \(validation\) \| 8 \| [\d.]+% \|/);
    expect(md).toMatch(/\| \*\*-90%\*\* \| \*\*test\*\* \| in \| 32 \| \*\*[\d.]+%\*\* \|/);
    expect(md).toMatch(/\| environment \| expert 0 \| expert 1 \| expert 2 \|/);
    expect(md).toContain('| ERM (DomainBed) | 71.7 | 72.9 | **10.0** | 51.5 |');
    expect(md).toContain('holdoutSplit(count, 0.2, seed × 1000 + i)');
    expect(md).toContain('fewer than DomainBed');
    expect(md).toContain(
      `hypernets moe domainbed ${TINY.join(' ')} --algorithm hmoe --test-env -90% --out ${run} --json`,
    );

    const again = cli('moe', 'domainbed', ...TINY, '--algorithm', 'hmoe', '--test-env', '-90%', '--out', run);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/holds another run .*pass --resume to continue it/);
    const changed = cli(
      ...['moe', 'domainbed', ...TINY, '--algorithm', 'hmoe', '--test-env', '2', '--lr', '0.01', '--out', run],
      '--resume',
    );
    expect(changed.status).toBe(2);
    expect(changed.stderr).toMatch(
      /--resume: the run in .* was started with other options \(lr: 0\.001 there, 0\.01 here\)/,
    );

    // the finished run, resumed with --test-env by index: tested again, the same numbers
    const resumed = cli(
      'moe',
      'domainbed',
      ...TINY,
      '--algorithm',
      'hmoe',
      '--test-env',
      '2',
      '--out',
      run,
      '--resume',
      '--json',
    );
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from .*checkpoint \(step 2\)/);
    expect(JSON.parse(resumed.stdout.trim())).toMatchObject({ test_env: 2, test_acc: j.test_acc, val_acc: j.val_acc });
    const { seconds: _a, ...after } = readResults(run).result;
    const { seconds: _b, ...before } = s.result;
    expect(after).toEqual(before);
  });
});

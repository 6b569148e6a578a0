import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../continual/options.js';
import { validate } from '../ghn/options.js';
import { TRAIN_FILES } from './command.js';
import { METHODS, TASKS, TRAIN_DEFAULTS, evalEveryOf, trainFingerprint, trainSchema } from './options.js';

const bin = fileURLToPath(new URL('../bin.ts', import.meta.url));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--conditions=@hypernets/source', bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, HYPERNETS_BACKEND: 'wasm' },
    timeout: 120_000,
  });

const train = (o: Record<string, unknown>) => () =>
  validate(trainSchema, { ...TRAIN_DEFAULTS, method: 'adapters', ...o });

describe('hypernets adapters: options', () => {
  it("the names it offers are the libraries' (kept here so that --help loads no tfjs)", async () => {
    const [{ METHOD_NAMES }, { TEXT_TASKS }] = await Promise.all([
      import('@hypernets/adapters'),
      import('@hypernets/data'),
    ]);
    expect([...METHODS]).toEqual([...METHOD_NAMES]);
    expect([...TASKS]).toEqual([...TEXT_TASKS]);
  });

  it('bad values are UsageErrors naming the flag', () => {
    expect(train({ method: 'lora' })).toThrow(/^--method: 'lora' is not one of linear, finetune, adapters/);
    expect(train({ tasks: ['spam', 'imdb'] })).toThrow(
      /^--tasks: 'imdb' is not one of spam, sotu-party, brown-genre, brown-coarse, reuters-grain, reuters-corn, wordnet-gloss/,
    );
    expect(train({ tasks: [] })).toThrow(/^--tasks: needs at least one task/);
    expect(train({ tasks: ['spam', 'spam'] })).toThrow(/^--tasks: names a task twice/);
    expect(train({ steps: 1 })).toThrow(/^--steps: must be at least 2/);
    expect(train({ batchSize: 0 })).toThrow(/^--batch-size:/);
    expect(train({ lr: 0 })).toThrow(/^--lr: must be greater than 0/);
    expect(train({ steps: 10, evalEvery: 11 })).toThrow(/^--eval-every: must be at most --steps \(10\)/);
    expect(train({ maxExamples: 5 })).toThrow(/^--max-examples: must be at least 10/);
    expect(train({ maxTokens: 129 })).toThrow(/^--max-tokens: must be at most 128/);
    expect(train({ reductionFactor: 1024 })).toThrow(/^--reduction-factor: must be at most 512/);
    expect(train({ projectedDim: 0 })).toThrow(/^--projected-dim:/);
    expect(train({ method: 'hyperx', tasks: ['spam', 'wordnet-gloss'], domains: [0] })).toThrow(
      /^--domains: gives 1 domain id\(s\) for 2 task\(s\) \(spam,wordnet-gloss\)/,
    );
    expect(train({ tasks: ['spam'], domains: [0] })).toThrow(/^--domains: conditions Hyper-X's adapters only/);
    expect(train({ seed: 2 ** 31 })).toThrow(/^--seed:/);
    expect(train({ frobnicate: 1 })).toThrow(UsageError);
    const o = validate(trainSchema, { ...TRAIN_DEFAULTS, method: 'hyperx', domains: [0, 0, 1, 1, 2] });
    expect(o).toMatchObject({ steps: 600, batchSize: 32, lr: 3e-4, maxExamples: 4000, maxTokens: 64 });
    expect(evalEveryOf(o)).toBe(60);
    // the fingerprint holds what changes the numbers, not where or how often it checkpoints
    const fp = (x: Record<string, unknown>) => trainFingerprint({ ...o, ...x });
    expect(fp({ backend: 'cpu', checkpointEvery: 7, weka: '/x' })).toEqual(fp({}));
    for (const x of [{ lr: 1e-3 }, { rescale: true }, { domains: [0, 0, 0, 0, 1] }, { evalEvery: 5 }, { seed: 1 }])
      expect(fp(x)).not.toEqual(fp({}));
  });

  it('the command exits with code 2 naming the flag, before any work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-adapters-opts-'));
    const held = join(dir, 'held');
    mkdirSync(held);
    writeFileSync(join(held, 'results.json'), '{}');
    const out = ['--out', join(dir, 'run')];
    for (const [args, want] of [
      [['adapters', 'train', ...out], /required option '--method <method>' not specified/],
      [['adapters', 'train', '--method', 'lora', ...out], /--method <method>' argument 'lora' is invalid/],
      [
        ['adapters', 'train', '--method', 'adapters', '--tasks', 'spam,imdb', ...out],
        /--tasks: 'imdb' is not one of spam, sotu-party, brown-genre, brown-coarse, reuters-grain, reuters-corn, wordnet-gloss/,
      ],
      [
        ['adapters', 'train', '--method', 'adapters', '--max-tokens', '200', ...out],
        /--max-tokens: must be at most 128/,
      ],
      [
        ['adapters', 'train', '--method', 'hyperx', '--tasks', 'spam,wordnet-gloss', '--domains', '0,1,2', ...out],
        /--domains: gives 3 domain id\(s\) for 2 task\(s\)/,
      ],
      [['adapters', 'train', '--method', 'linear', '--steps', '1e3', ...out], /--steps takes a whole number/],
      [['adapters', 'train', '--method', 'linear', '--lr', 'fast', ...out], /--lr takes a decimal number/],
      [
        ['adapters', 'train', '--method', 'linear', '--tasks', 'reuters-corn', '--weka', join(dir, 'none'), ...out],
        /--weka .*none: no such folder/,
      ],
      [
        ['adapters', 'train', '--method', 'linear', '--out', held],
        /--out .*held holds another run \(results\.json\); pass --resume/,
      ],
      [
        ['adapters', 'predict', '--checkpoint', dir, '--task', 'spam', '--text', 'hi'],
        /--checkpoint .*: no trained model there \(.*model\.json is missing\)/,
      ],
      [['adapters', 'predict', '--task', 'spam', '--text', 'hi'], /required option '--checkpoint <dir>'/],
    ] as const) {
      const r = cli(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(want);
      expect(r.stderr + r.stdout).not.toMatch(/backend:|loaded in/);
    }
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });
});

describe('hypernets adapters train / predict', () => {
  it('trains HyperFormer++ on two real tasks, refuses to overwrite, resumes, and the model predicts', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hn-adapters-')), 'run');
    const args = [
      'adapters',
      'train',
      '--method',
      'hyperformer++',
      '--tasks',
      'spam,wordnet-gloss',
      '--steps',
      '4',
      '--eval-every',
      '2',
      '--max-examples',
      '80',
      '--batch-size',
      '4',
      '--max-tokens',
      '16',
      '--backend',
      'wasm',
      '--out',
      out,
      '--json',
    ];
    const r = cli(...args);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!) as Record<string, unknown> & { acc: Record<string, number> };
    expect(Object.keys(j)).toEqual([
      'method',
      'tasks',
      'acc',
      'avg_acc',
      'trainable_params_per_task',
      'backbone_params',
      'seconds',
      'backend',
      'device',
      'out',
    ]);
    expect(j).toMatchObject({
      method: 'hyperformer++',
      tasks: ['spam', 'wordnet-gloss'],
      backbone_params: 6_975_744,
      backend: 'wasm',
      out,
    });
    for (const t of ['spam', 'wordnet-gloss']) {
      expect(j.acc[t]).toBeGreaterThanOrEqual(0);
      expect(j.acc[t]).toBeLessThanOrEqual(1);
    }
    expect(j.avg_acc).toBeCloseTo((j.acc.spam! + j.acc['wordnet-gloss']!) / 2, 12);
    expect(j.trainable_params_per_task).toBeGreaterThan(0);
    expect(j.trainable_params_per_task).toBeLessThan(6_975_744);
    expect(j.seconds).toBeGreaterThan(0);
    for (const f of TRAIN_FILES) expect(existsSync(join(out, f)), f).toBe(true);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results).toMatchObject({
      method: 'hyperformer++',
      acc: j.acc,
      steps: 4,
      config: { evalEvery: 2, maxTokens: 16 },
      params: { backbone: 6_975_744 },
    });
    expect(results.curve).toHaveLength(4);
    expect(results.evals.map((e: { step: number }) => e.step)).toEqual([2, 4]);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(
      /\| task \| val \| test \|[^\n]*\n[^\n]*\n\| spam \|/,
    );

    const again = cli(...args);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/holds another run .*pass --resume to continue it/);

    const resumed = cli(...args, '--resume');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from .*checkpoint \(step 4\)/);
    expect(JSON.parse(resumed.stdout.trim()).acc).toEqual(j.acc);

    const p = cli(
      'adapters',
      'predict',
      '--checkpoint',
      out,
      '--task',
      'spam',
      '--text',
      'Buy cheap meds now!!!',
      '--backend',
      'wasm',
      '--json',
    );
    expect(p.status, p.stderr).toBe(0);
    const pl = p.stdout.trim().split('\n');
    expect(pl).toHaveLength(1);
    const pj = JSON.parse(pl[0]!) as { task: string; label: string; probabilities: Record<string, number> };
    expect(pj.task).toBe('spam');
    expect(['ham', 'spam']).toContain(pj.label);
    expect(Object.keys(pj.probabilities)).toEqual(['ham', 'spam']);
    const sum = Object.values(pj.probabilities).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - 1)).toBeLessThan(1e-5);
    expect(pj.probabilities[pj.label]).toBe(Math.max(...Object.values(pj.probabilities)));

    for (const [extra, want] of [
      [
        ['--task', 'sotu-party', '--text', 'x'],
        /--task: 'sotu-party' is not a task of the model .*spam, wordnet-gloss/,
      ],
      [['--task', 'wordnet-gloss', '--text', 'x'], /--pair: task wordnet-gloss classifies text pairs/],
    ] as const) {
      const bad = cli('adapters', 'predict', '--checkpoint', out, ...extra);
      expect(bad.status, bad.stderr).toBe(2);
      expect(bad.stderr).toMatch(want);
      expect(bad.stderr).not.toMatch(/backend:/);
    }
  }, 170_000);
});

import { describe, expect, it } from 'vitest';
import { cli, usageError as exitsWithUsageError } from '../testing/helpers.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../continual/options.js';
import { validate } from '../ghn/options.js';
import { TRAIN_FILES } from './command.js';
import { FEWSHOT_FILES, fewshotCells, fewshotTable, meanAcc, storedFewshotRuns, type FewshotRun } from './fewshot.js';
import {
  FEWSHOT_DEFAULTS,
  MAX_FEWSHOT_SEED,
  METHODS,
  TASKS,
  TASK_FACTORS,
  TRAIN_DEFAULTS,
  domainIdsOf,
  zeroShotDomainOf,
  evalEveryOf,
  fewshotFingerprint,
  fewshotSchema,
  trainFingerprint,
  trainSchema,
} from './options.js';

/** The command exits 2 with `want` on stderr, before a backend starts or data loads. */
const usageError = (args: readonly string[], want: RegExp) => exitsWithUsageError(args, want, /backend:|loaded in/);

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

  it("each task's family and corpus are the data package's; Hyper-X numbers the corpora in order", async () => {
    const { TEXT_TASK_DOMAINS } = await import('@hypernets/data');
    for (const t of TASKS) {
      expect(TASK_FACTORS[t].domain).toBe(TEXT_TASK_DOMAINS[t].domain);
      expect(TASK_FACTORS[t].family).toBe(TEXT_TASK_DOMAINS[t].base ? 'continuation' : t);
    }
    const grid = ['spam', 'sotu-party', 'brown-coarse', 'sotu-continuation', 'spam-continuation'] as const;
    expect(domainIdsOf({ tasks: [...grid] })).toEqual([0, 1, 2, 1, 0]);
    expect(domainIdsOf({ tasks: [...grid], domains: [4, 3, 2, 1, 0] })).toEqual([4, 3, 2, 1, 0]);
    expect(zeroShotDomainOf({ tasks: [...grid], zeroShot: 'brown-continuation' })).toBe(2);
    const ok = validate(trainSchema, {
      ...TRAIN_DEFAULTS,
      method: 'hyperx',
      tasks: [...grid],
      zeroShot: 'brown-continuation',
    });
    expect(ok.zeroShot).toBe('brown-continuation');
    // the fingerprint holds Hyper-X's effective domain ids
    expect(trainFingerprint(ok)).toMatchObject({ domains: [0, 1, 2, 1, 0] });
    const zs = (tasks: string[], zeroShot: string) => train({ method: 'hyperx', tasks, zeroShot });
    expect(zs([...grid], 'spam')).toThrow(/^--zero-shot: spam is one of --tasks/);
    expect(zs(['spam', 'brown-coarse'], 'brown-continuation')).toThrow(
      /^--zero-shot: no training task is of .*family \(continuation\)/,
    );
    expect(zs(['spam', 'sotu-continuation'], 'brown-continuation')).toThrow(
      /^--zero-shot: no training task is from .*corpus \(brown\)/,
    );
    expect(zs([...grid], 'imdb')).toThrow(/^--zero-shot: 'imdb' is not one of/);
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
    ] as const)
      usageError(args, want);
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

/** A model.json (and an empty tensors file) as `adapters train` saves them: enough for the checks made before any work. */
function fakeModel(dir: string, adapterModel: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'model.json'), JSON.stringify({ format: 'hypernets-checkpoint', meta: { adapterModel } }));
  writeFileSync(join(dir, 'model.safetensors'), '');
  return dir;
}

const spamTask = { name: 'spam', kind: 'single', labels: ['ham', 'spam'], domain: 0 };
const glossTask = { name: 'wordnet-gloss', kind: 'pair', labels: ['no', 'yes'], domain: 0 };

describe('hypernets adapters fewshot: options and summaries', () => {
  const fewshot = (o: Record<string, unknown>) => () =>
    validate(fewshotSchema, { ...FEWSHOT_DEFAULTS, source: '/s', task: 'sotu-party', ...o });

  it('bad values are UsageErrors naming the flag; the fingerprint holds what changes the numbers', () => {
    expect(fewshot({ shots: [1] })).toThrow(/^--shots: must be at least 2/);
    expect(fewshot({ shots: [] })).toThrow(/^--shots: needs at least one number of shots/);
    expect(fewshot({ shots: [8, 8] })).toThrow(/^--shots: names a number of shots twice/);
    expect(fewshot({ methods: ['pha', 'lora'] })).toThrow(/^--methods: 'lora' is not one of linear, finetune/);
    expect(fewshot({ methods: [] })).toThrow(/^--methods: needs at least one method/);
    expect(fewshot({ task: 'imdb' })).toThrow(/^--task: 'imdb' is not one of spam, sotu-party/);
    expect(fewshot({ draws: 0 })).toThrow(/^--draws: must be at least 1/);
    expect(fewshot({ steps: 1 })).toThrow(/^--steps: must be at least 2/);
    expect(fewshot({ seed: MAX_FEWSHOT_SEED + 1 })).toThrow(/^--seed: must be at most/);
    // draw d's shots use seed·1000 + d: that stays a 32-bit seed
    expect(MAX_FEWSHOT_SEED * 1000 + 999).toBeLessThanOrEqual(2 ** 31 - 1);
    const o = validate(fewshotSchema, { ...FEWSHOT_DEFAULTS, source: '/s', task: 'sotu-party', shots: [64, 16] });
    expect(o).toMatchObject({ shots: [16, 64], draws: 3, methods: ['pha', 'adapters'], steps: 100, lr: 1e-3 });
    const fp = (x: Record<string, unknown>) => fewshotFingerprint({ ...o, ...x });
    expect(fp({ backend: 'cpu', weka: '/w' })).toEqual(fp({}));
    for (const x of [{ source: '/t' }, { shots: [16] }, { draws: 2 }, { methods: ['pha'] }, { lr: 1e-2 }, { seed: 1 }])
      expect(fp(x)).not.toEqual(fp({}));
  });

  it('the table: mean ± sample std over the draws in %, trained scalars, the prototype most draws retrieved', () => {
    const run = (method: string, shots: number, draw: number, acc: number, retrieved?: string): FewshotRun => ({
      method,
      shots,
      draw,
      acc,
      ...(retrieved ? { retrieved } : {}),
      trained: method === 'pha' ? 1090 : 72770,
      seconds: 1,
    });
    const runs = [
      run('pha', 4, 0, 0.5, 'spam'),
      run('adapters', 4, 0, 0.6),
      run('pha', 4, 1, 0.7, 'wordnet-gloss'),
      run('adapters', 4, 1, 0.6),
      run('pha', 4, 2, 0.6, 'wordnet-gloss'),
      run('adapters', 4, 2, 0.6),
      run('pha', 8, 0, 0.75, 'spam'),
    ];
    const c = fewshotCells(runs);
    expect(c.get('pha')!.get(4)!.mean).toBeCloseTo(0.6, 12);
    expect(c.get('pha')!.get(4)!.std).toBeCloseTo(0.1, 12); // sample std (n − 1)
    expect(c.get('pha')!.get(4)!.retrieved).toEqual({ task: 'wordnet-gloss', count: 2 });
    expect(c.get('adapters')!.get(4)!.std).toBe(0);
    expect(c.get('pha')!.get(8)!.std).toBeUndefined();
    expect(meanAcc(['pha', 'adapters'], runs)).toEqual({
      pha: { 4: c.get('pha')!.get(4)!.mean, 8: 0.75 },
      adapters: { 4: 0.6 },
    });
    expect(fewshotTable(['pha', 'adapters'], [4, 8], runs, 3, true).split('\n')).toEqual([
      '| method | trained params | 4 shots | 8 shots |',
      '|---|---:|---:|---:|',
      '| pha | 1,090 | 60.0 ± 10.0 | 75.0 |',
      '| adapters | 72,770 | 60.0 ± 0.0 | - |',
      '| pha: retrieved |  | wordnet-gloss (2/3) | spam (1/1) |',
    ]);
  });

  it('--resume reads the runs done, and refuses another configuration or a damaged file', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hn-fewshot-resume-'));
    const o = validate(fewshotSchema, { ...FEWSHOT_DEFAULTS, source: '/s', task: 'sotu-party', shots: [4], draws: 1 });
    const config = fewshotFingerprint(o);
    expect(await storedFewshotRuns(out, config)).toEqual([]);
    const r = { method: 'pha', shots: 4, draw: 0, acc: 0.5, retrieved: 'spam', trained: 10, seconds: 1 };
    const store = (x: unknown) => writeFileSync(join(out, 'results.json'), JSON.stringify(x));
    store({ command: 'adapters fewshot', config, runs: [r] });
    expect(await storedFewshotRuns(out, config)).toEqual([r]);
    await expect(storedFewshotRuns(out, { ...config, lr: 0.1, draws: 2 })).rejects.toThrow(
      /--resume: the run in .* was started with other options \(draws: 1 there, 2 here; lr: 0\.001 there, 0\.1 here\)/,
    );
    store({ command: 'adapters fewshot', config, runs: [r, r] });
    await expect(storedFewshotRuns(out, config)).rejects.toThrow(/holds run pha k=4 draw 0 twice/);
    store({ command: 'adapters fewshot', config, runs: [{ ...r, draw: 1 }] });
    await expect(storedFewshotRuns(out, config)).rejects.toThrow(/run 0 of .* is damaged or not of this grid/);
    store({ method: 'adapters', acc: {} });
    await expect(storedFewshotRuns(out, config)).rejects.toThrow(/holds no `adapters fewshot` run/);
    writeFileSync(join(out, 'results.json'), '{');
    await expect(storedFewshotRuns(out, config)).rejects.toThrow(/results\.json is unreadable/);
  });

  it('the command exits with code 2 naming the flag, before any work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-fewshot-opts-'));
    const pha = fakeModel(join(dir, 'pha'), {
      method: 'pha',
      options: { maxTokens: 16 },
      tasks: [spamTask, glossTask],
    });
    const notPha = fakeModel(join(dir, 'adapters'), {
      method: 'adapters',
      options: { maxTokens: 16 },
      tasks: [spamTask],
    });
    const noTokens = fakeModel(join(dir, 'old'), { method: 'pha', options: {}, tasks: [spamTask] });
    const held = join(dir, 'held');
    mkdirSync(held);
    writeFileSync(join(held, 'results.json'), '{}');
    const out = ['--out', join(dir, 'run')];
    const fs = (...a: string[]) => ['adapters', 'fewshot', ...a];
    for (const [args, want] of [
      [fs('--task', 'sotu-party', ...out), /required option '--source <dir>' not specified/],
      [fs('--source', pha, ...out), /required option '--task <name>' not specified/],
      [
        fs('--source', join(dir, 'none'), '--task', 'sotu-party', ...out),
        /--source .*none: no trained model there \(.*model\.json is missing\)/,
      ],
      [
        fs('--source', notPha, '--task', 'sotu-party', ...out),
        /--source .*adapters: holds a 'adapters' model; --methods pha transfers from a PHA model/,
      ],
      [
        fs('--source', pha, '--task', 'wordnet-gloss', ...out),
        /--task: 'wordnet-gloss' is one of the tasks the source model was trained on \(spam, wordnet-gloss\); .*held-out task: one of sotu-party, brown-genre/,
      ],
      [fs('--source', pha, '--task', 'imdb', ...out), /--task: 'imdb' is not one of spam, sotu-party/],
      // without pha in --methods a non-PHA source is taken: the next check answers
      [
        fs('--source', notPha, '--task', 'spam', '--methods', 'adapters,linear', ...out),
        /--task: 'spam' is one of the tasks the source model was trained on \(spam\)/,
      ],
      [fs('--source', pha, '--task', 'sotu-party', '--shots', '1', ...out), /--shots: must be at least 2/],
      [
        fs('--source', pha, '--task', 'sotu-party', '--shots', '4,x', ...out),
        /--shots takes comma-separated whole numbers/,
      ],
      [
        fs('--source', pha, '--task', 'sotu-party', '--methods', 'pha,lora', ...out),
        /--methods: 'lora' is not one of linear, finetune, adapters, hyperformer, hyperformer\+\+, hyperx, pha/,
      ],
      [
        fs('--source', noTokens, '--task', 'sotu-party', ...out),
        /--source .*old: model\.json's options give no token budget/,
      ],
      [
        fs('--source', pha, '--task', 'reuters-corn', '--weka', join(dir, 'none'), ...out),
        /--weka .*none: no such folder/,
      ],
      [
        fs('--source', pha, '--task', 'sotu-party', '--out', held),
        /--out .*held holds another run \(results\.json\); pass --resume/,
      ],
      [fs('--source', pha, '--task', 'sotu-party', '--out', held, '--resume'), /holds no `adapters fewshot` run/],
      [
        fs('--source', pha, '--task', 'sotu-party', '--out', held, '--resume', '--overwrite'),
        /--resume continues the run in --out and --overwrite replaces it/,
      ],
    ] as const)
      usageError(args, want);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  }, 120_000);
});

describe('hypernets adapters train --zero-shot', () => {
  it('Hyper-X classifies a held-out (family, corpus) pair with the family head and generated adapters', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hn-zeroshot-')), 'run');
    const r = cli(
      ...['adapters', 'train', '--method', 'hyperx', '--tasks', 'spam,spam-continuation,brown-coarse'],
      ...['--zero-shot', 'brown-continuation', '--steps', '2', '--eval-every', '2', '--max-examples', '200'],
      ...['--batch-size', '4', '--max-tokens', '16', '--backend', 'wasm', '--out', out, '--json'],
    );
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      zero_shot: Record<string, unknown> & { test_acc: number };
    };
    expect(j.zero_shot).toMatchObject({
      task: 'brown-continuation',
      family: 'continuation',
      domain: 'brown',
      domain_id: 1,
    });
    expect(j.zero_shot.test_acc).toBeGreaterThanOrEqual(0);
    expect(j.zero_shot.test_acc).toBeLessThanOrEqual(1);
    expect(r.stderr).toMatch(
      /zero-shot brown-continuation \(family continuation, domain brown, never trained on\): test/,
    );
    const saved = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as {
      zero_shot: unknown;
      config: unknown;
    };
    expect(saved.zero_shot).toEqual(j.zero_shot);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(
      /brown-continuation \(zero-shot: family continuation, domain brown/,
    );
    // the saved model knows each task's family and corpus id (what zero-shot and predict rebuild it with)
    const meta = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      meta: { adapterModel: { tasks: { family: string; domain: number }[] } };
    };
    expect(meta.meta.adapterModel.tasks.map((t) => [t.family, t.domain])).toEqual([
      ['spam', 0],
      ['continuation', 0],
      ['brown-coarse', 1],
    ]);
  });
});

describe('hypernets adapters fewshot', () => {
  it('transfers a trained PHA model to a held-out task against adapters, and --resume runs nothing again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-fewshot-'));
    const source = join(dir, 'source');
    const trained = cli(
      ...['adapters', 'train', '--method', 'pha', '--tasks', 'spam,wordnet-gloss', '--steps', '4'],
      ...['--eval-every', '4', '--max-examples', '80', '--batch-size', '4', '--max-tokens', '16'],
      ...['--backend', 'wasm', '--out', source, '--json'],
    );
    expect(trained.status, trained.stderr).toBe(0);
    const out = join(dir, 'fewshot');
    const args = [
      ...['adapters', 'fewshot', '--source', source, '--task', 'sotu-party', '--shots', '4', '--draws', '1'],
      ...['--steps', '2', '--max-examples', '80', '--backend', 'wasm', '--out', out, '--json'],
    ];
    const r = cli(...args);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!) as {
      acc: Record<string, Record<string, number>>;
      runs: (Record<string, unknown> & { acc: number; trained: number })[];
    };
    expect(Object.keys(j)).toEqual(['task', 'source', 'shots', 'acc', 'runs', 'seconds', 'backend']);
    expect(j).toMatchObject({ task: 'sotu-party', source, shots: [4], backend: 'wasm' });
    expect(Object.keys(j.acc)).toEqual(['pha', 'adapters']);
    expect(j.runs.map((x) => [x.method, x.shots, x.draw])).toEqual([
      ['pha', 4, 0],
      ['adapters', 4, 0],
    ]);
    expect(Object.keys(j.runs[0]!)).toEqual(['method', 'shots', 'draw', 'acc', 'retrieved', 'trained', 'seconds']);
    expect(['spam', 'wordnet-gloss']).toContain(j.runs[0]!.retrieved);
    expect(j.runs[1]!.retrieved).toBeUndefined();
    for (const x of j.runs) {
      expect(x.acc).toBeGreaterThanOrEqual(0);
      expect(x.acc).toBeLessThanOrEqual(1);
      expect(j.acc[x.method as string]!['4']).toBe(x.acc);
    }
    // PHA trains only the prototype and the head: fewer scalars than a fresh adapters model
    expect(j.runs[0]!.trained).toBeLessThan(j.runs[1]!.trained);
    expect(r.stderr).toMatch(/pha k=4 draw 0: test [\d.]+% \(retrieved (spam|wordnet-gloss)\)/);
    for (const f of FEWSHOT_FILES) expect(existsSync(join(out, f)), f).toBe(true);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results).toMatchObject({
      command: 'adapters fewshot',
      complete: true,
      config: { source, task: 'sotu-party', shots: [4], draws: 1, methods: ['pha', 'adapters'], steps: 2 },
      source: { method: 'pha', tasks: ['spam', 'wordnet-gloss'], maxTokens: 16 },
      data: { name: 'sotu-party', kind: 'single' },
    });
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toMatch(
      /\| method \| trained params \| 4 shots \|\n\|---\|---:\|---:\|\n\| pha \| [\d,]+ \| [\d.]+ \|\n\| adapters \|[^\n]*\n\| pha: retrieved \| {2}\| (spam|wordnet-gloss) \(1\/1\) \|/,
    );

    const again = cli(...args);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/holds another run .*pass --resume to continue it/);
    const other = cli(...args, '--resume', '--steps', '3');
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/--resume: the run in .* was started with other options \(steps: 2 there, 3 here\)/);

    const resumed = cli(...args, '--resume');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming: 2 of 2 runs done/);
    expect(resumed.stderr).not.toMatch(/k=4 draw 0: test/);
    expect(JSON.parse(resumed.stdout.trim()).runs).toEqual(j.runs);
  }, 170_000);
});

import { describe, expect, it } from 'vitest';
import { cli, usageError as exitsWithUsageError } from '../testing/helpers.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validate } from '../ghn/options.js';
import { LM_FILES } from './command.js';
import { LM_DEFAULTS, ROUTERS, lmFingerprint, lmSchema, resolveLm } from './options.js';
import type { MoeLmSummary } from './report.js';

/** The command exits 2 with `want` on stderr, before a backend starts or data loads. */
const usageError = (args: readonly string[], want: RegExp) => exitsWithUsageError(args, want, /backend:|corpus:/);

const lm = (o: Record<string, unknown>) => () => validate(lmSchema, { ...LM_DEFAULTS, router: 'smoe', ...o });

/** A tiny run: one block of 4 experts, 4 steps of 2 windows of 16 characters (a few seconds). */
const TINY = [
  ...['--steps', '4', '--d-model', '16', '--heads', '2', '--layers', '1', '--experts', '4', '--expert-hidden', '8'],
  ...['--seq-length', '16', '--batch-size', '2', '--eval-symbols', '256', '--test-symbols', '512', '--test-k', '1,2,4'],
  ...['--eval-every', '2', '--checkpoint-every', '2', '--backend', 'wasm'],
];

describe('hypernets moe lm: options', () => {
  it("the routers it offers are the library's (kept here so that --help loads no tfjs)", async () => {
    const { ROUTER_KINDS } = await import('@hypernets/adapters');
    expect([...ROUTERS]).toEqual([...ROUTER_KINDS]);
  });

  it('bad values are UsageErrors naming the flag; defaults follow E; the fingerprint holds what changes training', () => {
    expect(lm({ heads: 3 })).toThrow(/^--d-model: 256 is not divisible by --heads 3/);
    expect(lm({ kEnd: 32 })).toThrow(/^--k-end: k 32 is more than the experts \(--experts 16\)/);
    expect(lm({ kStart: 17 })).toThrow(/^--k-start: k 17 is more than the experts/);
    expect(lm({ experts: 4, evalK: 8 })).toThrow(/^--eval-k: k 8 is more than the experts \(--experts 4\)/);
    expect(lm({ testK: [1, 2, 32] })).toThrow(/^--test-k: k 32 is more than the experts/);
    expect(lm({ testK: [2, 2] })).toThrow(/^--test-k: names a k twice/);
    expect(lm({ router: 'dense', testK: [1] })).toThrow(/^--test-k: the dense model routes nothing/);
    expect(lm({ router: 'dense', loadBalance: 0.01 })).toThrow(/^--load-balance: balances the routed experts/);
    expect(lm({ hyperSize: 32 })).toThrow(/^--hyper-size: sizes HyperRouter's hypernetwork only/);
    expect(lm({ router: 'moe' })).toThrow(/^--router: 'moe' is not one of smoe, smoe-dropout, hyperrouter, dense/);
    expect(lm({ seqLength: 64, evalSymbols: 32 })).toThrow(/^--eval-symbols: must be at least --seq-length \(64\)/);
    expect(lm({ steps: 10, evalEvery: 11 })).toThrow(/^--eval-every: must be at most --steps \(10\)/);
    expect(lm({ lr: 0 })).toThrow(/^--lr: must be greater than 0/);
    expect(lm({ frobnicate: 1 })).toThrow(/unknown option\(s\) --frobnicate/);

    const o = resolveLm(validate(lmSchema, { ...LM_DEFAULTS, router: 'hyperrouter' }));
    expect(o).toMatchObject({ kStart: 8, kEnd: 16, evalK: 2, testK: [1, 2, 4, 8, 16], evalEvery: 150, hyperSize: 64 });
    expect(resolveLm(validate(lmSchema, { ...LM_DEFAULTS, router: 'smoe', experts: 1 }))).toMatchObject({
      kStart: 1,
      kEnd: 1,
      evalK: 1,
      testK: [1],
    });
    expect(resolveLm(validate(lmSchema, { ...LM_DEFAULTS, router: 'dense' }))).toMatchObject({
      kStart: null,
      evalK: null,
      testK: [16],
    });
    expect(validate(lmSchema, { ...LM_DEFAULTS, router: 'smoe', testK: [4, 1] }).testK).toEqual([1, 4]);
    const fp = (x: Record<string, unknown>) => lmFingerprint({ ...o, ...x });
    // not the backend, the checkpoint spacing, or what the final test reads
    expect(fp({ backend: 'cpu', checkpointEvery: 7, testK: [1], testSymbols: 4096 })).toEqual(fp({}));
    for (const x of [{ lr: 1e-2 }, { router: 'smoe' }, { kStart: 4 }, { evalK: 1 }, { evalSymbols: 1024 }, { seed: 1 }])
      expect(fp(x)).not.toEqual(fp({}));
  });

  // (a few end to end: the schema's every check is above)
  it('the command exits with code 2 naming the flag, before any work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-moe-opts-'));
    const held = join(dir, 'held');
    mkdirSync(held);
    writeFileSync(join(held, 'results.json'), '{}');
    const out = ['--out', join(dir, 'run')];
    const lmArgs = (...a: string[]) => ['moe', 'lm', ...a];
    for (const [args, want] of [
      [lmArgs('--router', 'smoe'), /required option '--out <dir>' not specified/],
      [lmArgs('--router', 'moe', ...out), /--router <router>' argument 'moe' is invalid/],
      [lmArgs('--router', 'smoe', '--k-end', '32', ...out), /--k-end: k 32 is more than the experts \(--experts 16\)/],
      [lmArgs('--router', 'smoe', '--heads', '3', ...out), /--d-model: 256 is not divisible by --heads 3/],
      [lmArgs('--router', 'smoe', '--steps', '1e3', ...out), /--steps takes a whole number/],
      [lmArgs('--router', 'smoe', ...out, '--resume'), /--resume: .*run holds no checkpoint to continue/],
      [lmArgs('--router', 'smoe', '--out', held), /--out .*held holds another run \(results\.json\); pass --resume/],
      [
        lmArgs('--router', 'smoe', '--out', held, '--resume', '--overwrite'),
        /--resume continues the run in --out and --overwrite replaces it/,
      ],
    ] as const)
      usageError(args, want);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });
});

/** The model `moe lm` builds for `o` (run.ts), for the tensor count. */
const resolvedModel = (o: ReturnType<typeof resolveLm>) => ({
  router: o.router,
  dModel: o.dModel,
  numHeads: o.heads,
  numBlocks: o.layers,
  seqLength: o.seqLength,
  experts: o.experts,
  expertHidden: o.expertHidden,
  hyperSize: o.hyperSize,
  positions: o.positions,
  seed: o.seed,
});

/** results.json's numbers (all but the clock). */
const numbers = (s: MoeLmSummary) => {
  const { seconds: _s, ...result } = s.result;
  return { result, model: s.model, config: s.config, corpus: s.corpus };
};
const readResults = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as MoeLmSummary;

describe('hypernets moe lm', () => {
  const root = mkdtempSync(join(tmpdir(), 'hn-moe-'));
  const whole = join(root, 'whole');

  it('trains a tiny HyperRouter LM on the real corpus, writes the report and one --json line', () => {
    const r = cli('moe', 'lm', '--router', 'hyperrouter', ...TINY, '--out', whole, '--json');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!) as Record<string, unknown> & { bpc: Record<string, number> };
    expect(Object.keys(j)).toEqual(['router', 'bpc', 'router_entropy', 'seconds', 'backend', 'device', 'out']);
    expect(j).toMatchObject({ router: 'hyperrouter', backend: 'wasm', out: whole });
    expect(Object.keys(j.bpc)).toEqual(['1', '2', '4']);
    // 4 steps barely move it from uniform over 27 symbols (log2 27 = 4.75 bits)
    for (const b of Object.values(j.bpc)) {
      expect(b).toBeGreaterThan(3.5);
      expect(b).toBeLessThan(6);
    }
    expect(j.router_entropy).toBeGreaterThan(0);
    expect(j.router_entropy).toBeLessThanOrEqual(Math.log(4) + 1e-6);
    expect(r.stderr).toMatch(/step 4\/4 loss [\d.]+ k 4 lr [\d.e+-]+ validation [\d.]+ BPC/);
    for (const f of LM_FILES) expect(existsSync(join(whole, f)), f).toBe(true);
    const s = readResults(whole);
    expect(s).toMatchObject({
      command: 'moe lm',
      router: 'hyperrouter',
      config: { steps: 4, experts: 4, kStart: 2, kEnd: 4, evalK: 2, testK: [1, 2, 4], evalEvery: 2 },
      model: { router: 'hyperrouter', vocabSize: 27, dModel: 16, numBlocks: 1, experts: 4 },
      corpus: { symbols: 27, splitSeed: 0 },
      result: { router: 'hyperrouter', bpc: j.bpc, steps: 4, routerEntropy: j.router_entropy },
      backend: 'wasm',
    });
    expect(s.result.curve.map((p) => [p.step, p.k])).toEqual([
      [1, 2],
      [2, 3],
      [3, 3],
      [4, 4],
    ]);
    expect(s.result.evals.map((e) => e.step)).toEqual([2, 4]);
    expect(s.result.tests.map((t) => t.usage.length)).toEqual([1, 1, 1]);
    for (const t of s.result.tests) expect(t.usage[0]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const p = s.result.params;
    expect(p.trainable).toBeLessThan(p.total); // HyperRouter's hypernetwork is frozen
    expect(p.activePerToken).toBeLessThan(p.total);
    const md = readFileSync(join(whole, 'summary.md'), 'utf8');
    expect(md).toMatch(/\| k \| test BPC \| router entropy \|\n\|---:\|---:\|---:\|\n\| 1 \| [\d.]+ \| [\d.]+ \|/);
    expect(md).toMatch(/Parameters: \*\*[\d,]+\*\* in all, [\d,]+ trainable, [\d,]+ active per token at k = 2/);
    expect(md).toContain(`hypernets moe lm --router hyperrouter ${TINY.join(' ')} --out ${whole} --json`);
    expect(md).toMatch(/best validation step \(step \*\*\d\*\* of 4/);

    const again = cli('moe', 'lm', '--router', 'hyperrouter', ...TINY, '--out', whole);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/holds another run .*pass --resume to continue it/);
    const other = cli('moe', 'lm', '--router', 'hyperrouter', ...TINY, '--lr', '0.01', '--out', whole, '--resume');
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(
      /--resume: the run in .* was started with other options \(lr: 0\.001 there, 0\.01 here\)/,
    );
  });

  it('a run stopped after its step-2 checkpoint and resumed ends with the numbers of one that never stopped', async () => {
    const stopped = join(root, 'stopped');
    mkdirSync(stopped);
    const tf = await import('@tensorflow/tfjs-core');
    const { runMoeLm } = await import('./run.js');
    const o = resolveLm(
      validate(lmSchema, {
        ...LM_DEFAULTS,
        router: 'hyperrouter',
        ...{ steps: 4, dModel: 16, heads: 2, layers: 1, experts: 4, expertHidden: 8, seqLength: 16, batchSize: 2 },
        ...{ evalSymbols: 256, testSymbols: 512, testK: [1, 2, 4], evalEvery: 2, checkpointEvery: 2, backend: 'wasm' },
      }),
    );
    const lines: string[] = [];
    const stop = new Error('stopped after the step-2 checkpoint');
    const io = {
      out: (l: string) => lines.push(l),
      err: (l: string) => {
        lines.push(l);
        if (/checkpoint at step 2/.test(l)) throw stop;
      },
      tty: false,
    };
    const before = tf.engine().state.numTensors;
    await expect(runMoeLm(o, stopped, { resume: false, io, command: 'hypernets moe lm' })).rejects.toBe(stop);
    const grown = tf.engine().state.numTensors - before;
    expect(lines.join('\n')).not.toMatch(/step 3/);
    // the model, Adam's state and the best snapshot are freed on the way out; all that stays is what
    // MoeLanguageModel's constructor itself leaves behind (its initial values: none, once the library frees them)
    const { MoeLanguageModel } = await import('@hypernets/adapters');
    const at = tf.engine().state.numTensors;
    new MoeLanguageModel({ ...resolvedModel(o), vocabSize: 27 }).dispose();
    expect(grown).toBe(tf.engine().state.numTensors - at);
    const meta = JSON.parse(readFileSync(join(stopped, 'checkpoint.json'), 'utf8')) as { meta: { step: number } };
    expect(meta.meta.step).toBe(2);
    expect(existsSync(join(stopped, 'results.json'))).toBe(false);

    const resumed = cli('moe', 'lm', '--router', 'hyperrouter', ...TINY, '--out', stopped, '--resume', '--json');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from .*checkpoint \(step 2\)/);
    expect(resumed.stderr).not.toMatch(/step 2: validation/);
    expect(numbers(readResults(stopped))).toEqual(numbers(readResults(whole)));
    expect(JSON.parse(resumed.stdout.trim()).bpc).toEqual(readResults(whole).result.bpc);
  });
});

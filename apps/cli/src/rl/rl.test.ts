import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validate } from '../ghn/options.js';
import { cli, usageError as exitsWithUsageError } from '../testing/helpers.js';
import { TRAIN_FILES } from './command.js';
import {
  COMMON_DEFAULTS,
  ENVS,
  HYPERZERO_MODELS,
  TRAIN_JSON_KEYS,
  PPO_DEFAULTS,
  findEnv,
  resolveTrain,
  trainFingerprint,
  trainSchema,
} from './options.js';
import type { RlTrainSummary } from './report.js';

/** The command exits 2 with `want` on stderr, before a backend starts. */
const usageError = (args: readonly string[], want: RegExp) => exitsWithUsageError(args, want, /backend:/);

const train = (o: Record<string, unknown>) => () =>
  resolveTrain(validate(trainSchema, { ...COMMON_DEFAULTS, hidden: [64, 64], env: 'cartpole', ...o }));

/** A tiny CartPole run: 16 iterations of 2 envs × 64 steps (2,048 env steps), a checkpoint every 4. */
const TINY = [
  ...['--env', 'cartpole', '--steps', '2048', '--num-envs', '2', '--num-steps', '64', '--lr', '0.001'],
  ...['--seed', '1', '--checkpoint-every', '4', '--eval-episodes', '3', '--backend', 'wasm'],
];

describe('hypernets rl: options', () => {
  it("the envs, the MuJoCo ones and PPO's defaults are the library's (kept here so that --help loads no tfjs)", async () => {
    const rl = await import('@hypernets/rl');
    expect(ENVS.map((e) => e.id)).toEqual([...rl.ENV_IDS]);
    expect(ENVS.filter((e) => e.mujoco).map((e) => e.id)).toEqual([...rl.MUJOCO_ENV_IDS]);
    for (const e of ENVS.filter((x) => !x.mujoco)) expect(rl.makeEnv(e.id).actionSpace.kind, e.id).toBe(e.actions);
    for (const [kind, preset] of [
      ['discrete', rl.PPO_PRESETS.classic],
      ['box', rl.PPO_PRESETS.continuous],
    ] as const)
      expect(PPO_DEFAULTS[kind]).toEqual({
        numEnvs: preset.numEnvs,
        numSteps: preset.numSteps,
        lr: preset.learningRate,
        minibatches: preset.numMinibatches,
        epochs: preset.updateEpochs,
        entCoef: preset.entCoef,
      });
  });

  it('--env takes the ids and the short names, any case; bad values are UsageErrors naming the flag', () => {
    expect(findEnv('CARTPOLE')?.id).toBe('CartPole-v1');
    expect(findEnv('pendulum-v1')?.id).toBe('Pendulum-v1');
    expect(findEnv('mountaincar-continuous')?.id).toBe('MountainCarContinuous-v0');
    expect(findEnv('halfcheetah')?.id).toBe('HalfCheetah-v5');
    expect(findEnv('walker')).toBeUndefined();
    expect(train({ env: 'walker' })).toThrow(
      /^--env: unknown environment 'walker'; known: cartpole \(CartPole-v1\), .*walker2d \(Walker2d-v5\), ant \(Ant-v5\)$/,
    );
    expect(train({ steps: 100 })).toThrow(
      /^--steps: 100 is less than one batch \(--num-envs 4 × --num-steps 128 = 512\); pass at least 512$/,
    );
    expect(train({ minibatches: 3 })).toThrow(/^--minibatches: 3 does not divide the batch/);
    expect(train({ numEnvs: 1, numSteps: 4, minibatches: 4, steps: 8 })).toThrow(/leaves 1 sample per minibatch/);
    expect(train({ gamma: 1.5 })).toThrow(/^--gamma: must be at most 1/);
    expect(train({ lr: 0 })).toThrow(/^--lr: must be greater than 0/);
    expect(train({ hidden: [] })).toThrow(/^--hidden: needs at least one width/);
    expect(train({ algo: 'dqn' })).toThrow(/^--algo: 'dqn' is not one of ppo/);
    expect(train({ frobnicate: 1 })).toThrow(/unknown option\(s\) --frobnicate/);
    // CleanRL's defaults by action space
    expect(train({})()).toMatchObject({ env: 'CartPole-v1', steps: 500_000, numEnvs: 4, numSteps: 128, lr: 2.5e-4 });
    expect(train({ env: 'pendulum' })()).toMatchObject({
      steps: 1_000_000,
      numEnvs: 1,
      numSteps: 2048,
      minibatches: 32,
    });
    // what must match for --resume: not the backend, the checkpoint spacing or the evaluation
    const o = train({})();
    const fp = (x: Record<string, unknown>) => trainFingerprint({ ...o, ...x });
    expect(fp({ backend: 'cpu', checkpointEvery: 3, evalEpisodes: 1 })).toEqual(fp({}));
    for (const x of [{ lr: 1e-3 }, { seed: 2 }, { steps: 1024 }, { env: 'Acrobot-v1' }, { hidden: [32] }])
      expect(fp(x)).not.toEqual(fp({}));
  });

  it('the commands exit with code 2 and the message, before any work', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-rl-opts-'));
    usageError(
      ['rl', 'train', '--env', 'walker', '--out', join(dir, 'a')],
      /--env: unknown environment 'walker'; known: cartpole \(CartPole-v1\)/,
    );
    usageError(
      ['rl', 'train', '--env', 'cartpole', '--steps', '100', '--out', join(dir, 'a')],
      /--steps: 100 is less than one batch/,
    );
    mkdirSync(join(dir, 'empty'));
    usageError(
      ['rl', 'eval', '--out', join(dir, 'empty')],
      /--out .*empty: holds no checkpoint \(no checkpoint\.json\)/,
    );
    usageError(['rl', 'render', '--file', join(dir, 'x.svg')], /--env: needed without --from \(random actions\)/);
    usageError(
      ['rl', 'train', '--env', 'cartpole', '--meta-batch', '4', '--out', join(dir, 'a')],
      /--meta-batch is a HyperPPO option: pass --algo hyperppo/,
    );
    usageError(
      ['rl', 'train', '--env', 'cartpole', '--algo', 'hyperppo', '--num-envs', '12', '--out', join(dir, 'a')],
      /--meta-batch: 8 architectures cannot share --num-envs 12 evenly/,
    );
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });
});

describe('hypernets rl train, eval, render', () => {
  const root = mkdtempSync(join(tmpdir(), 'hn-rl-'));
  const out = join(root, 'run');
  let trained: Record<string, unknown>;

  it('trains a tiny CartPole PPO, writes the checkpoint, summary.json and the curve, and one --json line', () => {
    const r = cli('rl', 'train', ...TINY, '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    trained = JSON.parse(lines[0]!) as Record<string, unknown>;
    const j = trained as Record<string, number | string>;
    expect(Object.keys(j)).toEqual([
      'env',
      'algo',
      'steps',
      'mean_return',
      'eval_episodes',
      'seconds',
      'steps_per_second',
      'backend',
    ]);
    expect(j.env).toBe('CartPole-v1');
    expect(j.algo).toBe('ppo');
    expect(j.steps).toBe(2048);
    // CartPole's return is the episode length: 8 (the fastest fall) to 500 (the time limit)
    expect(j.mean_return).toBeGreaterThanOrEqual(8);
    expect(j.mean_return).toBeLessThanOrEqual(500);
    expect(j.eval_episodes).toBe(3);
    expect(j.seconds).toBeGreaterThan(0);
    expect(j.steps_per_second).toBeCloseTo(2048 / (j.seconds as number), 6);
    expect(j.backend).toBe('wasm');
    expect(r.stderr).toMatch(/CartPole-v1 ppo: 16 iterations of 2 envs × 64 steps \(2,048 env steps\)/);
    expect(r.stderr).toMatch(/iteration 16\/16: 2,048 env steps, \d+ episodes, return [\d.]+ .*steps\/s, ETA 0 s/);
    expect(r.stderr).toMatch(/checkpoint at iteration 4: /);
    for (const f of TRAIN_FILES.filter((x) => !x.startsWith('pareto'))) expect(existsSync(join(out, f)), f).toBe(true);
    expect(existsSync(join(out, 'pareto.svg'))).toBe(false); // HyperPPO's
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RlTrainSummary;
    expect(s).toMatchObject({ ...j, command: 'rl train', iterations: 16, config: { env: 'CartPole-v1', numEnvs: 2 } });
    expect(s.eval_returns).toHaveLength(3);
    expect(s.eval_returns.reduce((a, b) => a + b, 0) / 3).toBeCloseTo(j.mean_return as number, 9);
    expect(s.episodes.length).toBeGreaterThan(10);
    for (const [step, ret, len] of s.episodes) {
      expect(step).toBeLessThanOrEqual(2048);
      expect(ret).toBe(len); // +1 a step
    }
    expect(readFileSync(join(out, 'curve.svg'), 'utf8')).toMatch(/^<svg[^>]*>.*return vs env steps/s);
  }, 120_000);

  it('--resume of the finished run trains no more and evaluates it again; rl eval reloads the same policy', () => {
    const again = cli('rl', 'train', ...TINY, '--out', out, '--json', '--resume');
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/resuming from .*checkpoint \(iteration 16\)/);
    expect(again.stderr).not.toMatch(/iteration \d+\/16/);
    const j = JSON.parse(again.stdout) as Record<string, unknown>;
    expect(j).toMatchObject({ env: 'CartPole-v1', steps: 2048, mean_return: trained.mean_return, eval_episodes: 3 });

    const ev = cli('rl', 'eval', '--out', out, '--episodes', '3', '--backend', 'wasm', '--json');
    expect(ev.status, ev.stderr).toBe(0);
    const e = JSON.parse(ev.stdout) as Record<string, unknown> & { returns: number[] };
    expect(Object.keys(e)).toEqual(['env', 'algo', 'steps', 'mean_return', 'eval_episodes', 'returns', 'backend']);
    // the same deterministic episodes (reset seeds 10,001 …) with the reloaded policy
    expect(e).toMatchObject({ env: 'CartPole-v1', algo: 'ppo', steps: 2048, mean_return: trained.mean_return });
    expect(e.returns).toHaveLength(3);
    expect(ev.stderr).toMatch(/the checkpoint at iteration 16 of 16 \(2,048 env steps\)/);
  }, 120_000);

  it('rl render --from draws an episode of the trained policy as an animated SVG', () => {
    const file = join(root, 'cartpole.svg');
    const r = cli('rl', 'render', '--from', out, '--file', file, '--steps', '60', '--backend', 'wasm', '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { frames: number; steps: number; fps: number; policy: string; bytes: number };
    expect(j).toMatchObject({ env: 'CartPole-v1', policy: 'trained', fps: 50, file });
    expect(j.frames).toBe(j.steps + 1);
    const svg = readFileSync(file, 'utf8');
    expect(Buffer.byteLength(svg)).toBe(j.bytes);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="600" height="400"/);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<animate /g)).toHaveLength(j.frames);
    expect(svg).toContain(`dur="${j.frames / 50}s"`);
    expect(svg.match(/<g/g)!.length).toBe(j.frames + 1); // the track once, then one group per frame
    expect(svg.match(/<\/g>/g)!.length).toBe(j.frames + 1);
    // an existing file is not replaced without --overwrite
    usageError(
      ['rl', 'render', '--env', 'cartpole', '--file', file],
      /--file .*cartpole\.svg: exists; pass another file name, or --overwrite/,
    );
  }, 120_000);

  it('rl eval of a run stopped at its iteration-4 checkpoint evaluates that checkpoint without training on (in process)', async () => {
    const { runRlEval, runRlTrain } = await import('./run.js');
    const stopped = join(root, 'stopped');
    mkdirSync(stopped);
    const o = train({
      steps: 2048,
      numEnvs: 2,
      numSteps: 64,
      lr: 1e-3,
      seed: 1,
      checkpointEvery: 4,
      backend: 'wasm',
    })();
    const lines: string[] = [];
    const stop = new Error('stopped after the iteration-4 checkpoint');
    const io = {
      out: (l: string) => lines.push(l),
      err: (l: string) => {
        lines.push(l);
        if (/checkpoint at iteration 4/.test(l)) throw stop;
      },
      tty: false,
    };
    await expect(runRlTrain(o, stopped, { resume: false, io, command: 'hypernets rl train' })).rejects.toBe(stop);
    const before = readFileSync(join(stopped, 'checkpoint.json'), 'utf8');
    lines.length = 0;
    const quiet = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), tty: false };
    const r = await runRlEval(trainFingerprint(o), stopped, { episodes: 2, backend: 'wasm', io: quiet });
    expect(r).toMatchObject({ env: 'CartPole-v1', steps: 512, eval_episodes: 2 });
    expect(r.returns).toHaveLength(2);
    expect(lines.join('\n')).toMatch(/the checkpoint at iteration 4 of 16 \(512 env steps\): an unfinished run/);
    expect(readFileSync(join(stopped, 'checkpoint.json'), 'utf8')).toBe(before); // nothing trained or saved
  }, 120_000);

  it('rl render with random actions needs no backend (in process)', async () => {
    const { runRlRender } = await import('./run.js');
    const file = join(root, 'acrobot.svg');
    const lines: string[] = [];
    const io = { out: (l: string) => lines.push(l), err: (l: string) => lines.push(l), tty: false };
    const r = await runRlRender({ env: 'Acrobot-v1', file, steps: 20, seed: 0, width: 300 }, null, { io });
    expect(r).toMatchObject({ env: 'Acrobot-v1', policy: 'random', steps: 20, return: -20, frames: 21, fps: 15 });
    const svg = readFileSync(file, 'utf8');
    expect(svg).toMatch(/width="300" height="300"/);
    expect(svg).toContain('<title>Acrobot-v1: random actions, return -20.0</title>');
    expect(lines.join('\n')).toMatch(
      /Acrobot-v1: 20 steps of random actions \(--steps 20\), return -20\.00; 21 frames at 15 fps/,
    );
  }, 120_000);
});

describe('hypernets rl train --algo hyperppo', () => {
  it('trains a tiny CartPole HyperPPO, evaluates architectures with generated weights, and adds them to --json', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hn-rl-hyper-')), 'run');
    const r = cli(
      'rl',
      'train',
      ...['--env', 'cartpole', '--algo', 'hyperppo', '--steps', '2048', '--num-envs', '8', '--num-steps', '64'],
      ...['--meta-batch', '4', '--eval-archs', '12', '--eval-episodes', '1', '--seed', '1', '--backend', 'wasm'],
      ...['--out', out, '--json'],
    );
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim()) as Record<string, unknown> & {
      archs: { hidden: number[]; params: number; mean_return: number }[];
    };
    expect(Object.keys(j)).toEqual([
      'env',
      'algo',
      'steps',
      'mean_return',
      'eval_episodes',
      'seconds',
      'steps_per_second',
      'backend',
      'archs',
    ]);
    expect(j).toMatchObject({ env: 'CartPole-v1', algo: 'hyperppo', steps: 2048, eval_episodes: 1 });
    expect(j.archs).toHaveLength(12);
    // mean_return is the best architecture's; 3 of every depth, each with its parameter count
    expect(j.mean_return).toBe(Math.max(...j.archs.map((a) => a.mean_return)));
    expect(j.archs.map((a) => a.hidden.length).sort()).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    for (const a of j.archs) {
      const sizes = [4, ...a.hidden, 2];
      expect(a.params).toBe(sizes.slice(1).reduce((n, w, i) => n + (sizes[i]! + 1) * w, 0));
    }
    expect(r.stderr).toMatch(/evaluating 12 architectures with generated weights, 1 episode each/);
    expect(readFileSync(join(out, 'pareto.svg'), 'utf8')).toMatch(/^<svg/);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as RlTrainSummary;
    expect(s.config).toMatchObject({ numEnvs: 8, metaBatch: 4, stdMode: 'single', evalArchs: 12, checkpointEvery: 50 });
  }, 180_000);
});

describe('hypernets rl train --algo hyperzero', () => {
  const root = mkdtempSync(join(tmpdir(), 'hn-rl-hz-'));
  const out = join(root, 'run');
  const TINY_HZ = [
    ...['--env', 'pendulum', '--algo', 'hyperzero', '--grid', '3', '--steps', '1200', '--warm-steps', '300'],
    ...['--dataset-episodes', '2', '--epochs', '3', '--eval-episodes', '2', '--model', 'mlp_policy'],
    ...['--backend', 'wasm', '--out', out],
  ];

  it("its models are the library's; its options are checked before any work", async () => {
    const rl = await import('@hypernets/rl');
    expect([...HYPERZERO_MODELS]).toEqual(Object.keys(rl.ZERO_SHOT_MODELS));
    const dir = mkdtempSync(join(tmpdir(), 'hn-rl-hz-opts-'));
    const base = ['rl', 'train', '--algo', 'hyperzero', '--out', join(dir, 'a')];
    usageError([...base, '--env', 'cartpole'], /--env: HyperZero needs a family of contexts; .* not CartPole-v1/);
    usageError([...base, '--env', 'pendulum', '--num-envs', '4'], /--num-envs is not a HyperZero option/);
    usageError([...base, '--env', 'pendulum', '--grid', '2'], /--grid: /);
    usageError([...base, '--env', 'pendulum', '--model', 'mlp'], /--model/);
    usageError(
      ['rl', 'train', '--env', 'pendulum', '--grid', '3', '--out', join(dir, 'a')],
      /--grid is a HyperZero option/,
    );
    expect(existsSync(join(dir, 'a'))).toBe(false);
  });

  it('trains teachers and a model, runs it zero-shot on the held-out context, prints one --json line; --resume reuses everything', () => {
    const r = cli('rl', 'train', ...TINY_HZ, '--json');
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual([...TRAIN_JSON_KEYS]); // the keys the PPO test spells out
    expect(j).toMatchObject({ env: 'Pendulum-v1', algo: 'hyperzero', eval_episodes: 2, backend: 'wasm' });
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as {
      held_out: { context: number[]; mean_return: number; returns: number[] }[];
      train_contexts: number[][];
      steps: number;
      model: { epochs: number };
    };
    // 9 contexts, ⌊0.2 · 9⌋ = 1 held out; the mean_return is its zero-shot return
    expect(s.held_out).toHaveLength(1);
    expect(s.train_contexts).toHaveLength(8);
    expect(s.held_out[0]!.returns).toHaveLength(2);
    expect(j.mean_return).toBeCloseTo(s.held_out[0]!.mean_return, 9);
    expect(s.model.epochs).toBe(3);
    // every teacher's TD3 steps, one attempt or more each (1,200 from scratch, 300 from a neighbour)
    expect(s.steps).toBeGreaterThanOrEqual(1200 + 8 * 300);
    expect(existsSync(join(out, 'teachers'))).toBe(true);
    expect(readFileSync(join(out, 'curve.svg'), 'utf8')).toMatch(/^<svg/);

    const again = cli('rl', 'train', ...TINY_HZ, '--resume', '--json');
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr.match(/\[saved\]/g)).toHaveLength(9); // no teacher trained again
    expect((JSON.parse(again.stdout.trim()) as { mean_return: number }).mean_return).toBe(j.mean_return);

    const ev = cli('rl', 'eval', '--out', out, '--episodes', '2', '--backend', 'wasm', '--json');
    expect(ev.status, ev.stderr).toBe(0);
    expect((JSON.parse(ev.stdout.trim()) as { mean_return: number }).mean_return).toBe(j.mean_return);

    const file = join(root, 'zero-shot.svg');
    const rd = cli('rl', 'render', '--from', out, '--file', file, '--steps', '20', '--json');
    expect(rd.status, rd.stderr).toBe(0);
    expect(rd.stderr).toMatch(/generates for the held-out context l\d\.\d\d_m\d\.\d\d/);
    expect(readFileSync(file, 'utf8')).toMatch(/^<svg/);

    // another run's options: refused, naming the difference; --overwrite starts over (teachers too)
    usageError(['rl', 'train', ...TINY_HZ, '--epochs', '4', '--resume'], /epochs: 3 there, 4 here/);
    usageError(['rl', 'train', ...TINY_HZ], /holds another run \(checkpoint\.json.*pass --resume/);
  }, 180_000);
});

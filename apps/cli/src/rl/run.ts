import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '@hypernets/core';
import { writeFileAtomic } from '@hypernets/core/internal';
import {
  HyperPpoTrainer,
  PpoTrainer,
  disposePadded,
  paddedForward,
  RENDER_FPS,
  argmaxRows,
  framesToSvg,
  loadMujoco,
  makeEnv,
  recordRollout,
  type Env,
  type PpoAgent,
  type PpoTrainEvent,
  type RolloutPolicy,
} from '@hypernets/rl';
import type { CommandIo } from '../command-io.js';
import { Progress } from '../progress.js';
import {
  envEntry,
  iterationsOf,
  trainFingerprint,
  type PpoAlgo,
  type ResolvedTrainOptions,
  type RlRenderOptions,
  type HyperZeroFingerprint,
  type TrainFingerprint,
} from './options.js';
import { trainResultText, writeTrainReport, type RlTrainSummary } from './report.js';
import { loadHyperZero, teacherEnvSteps, zeroShotPolicy } from './hyperzero-run.js';

/** What `rl` needs of a trained algorithm, whichever it is. */
interface AlgoRun {
  /** Trains (continuing from the checkpoint in the run's directory with `resume`). */
  train(resume: boolean): Promise<{
    iterations: number;
    globalStep: number;
    seconds: number;
    episodes: { step: number; return: number; length: number }[];
    meanReturn: number | null;
  }>;
  /** Loads the run's checkpoint without training; null when there is none. */
  restore(): Promise<{ iteration: number; globalStep: number } | null>;
  /**
   * The deterministic policy's episodes (`seed`: the first reset's seed; default the run's seed +
   * 10,000). HyperPPO: those of the best of the evaluated architectures, and every one in `archs`.
   */
  evaluate(
    episodes: number,
    seed?: number,
  ): Promise<{
    returns: number[];
    lengths: number[];
    meanReturn: number;
    archs?: { hidden: number[]; params: number; mean_return: number }[];
  }>;
  /** The env as the policy sees it (its observation normalisation frozen) and the deterministic policy. */
  policy(): { env: Env; act: RolloutPolicy };
  dispose(): void;
}

interface AlgoContext {
  /** The run's directory (its checkpoint). */
  dir: string;
  /** Checkpoint every this many iterations (null: only at the end). */
  checkpointEvery: number | null;
  /** HyperPPO: architectures to evaluate (a stratified sample of the space). */
  evalArchs?: number;
  onEvent: (e: { type: string } & Record<string, unknown>) => void | Promise<void>;
}

/** The PpoTrainer options of the CLI's flags (HyperPPO's trainer takes them too). */
function trainerOptions(o: TrainFingerprint, ctx: AlgoContext) {
  return {
    env: o.env,
    totalTimesteps: o.steps,
    numEnvs: o.numEnvs,
    numSteps: o.numSteps,
    learningRate: o.lr,
    numMinibatches: o.minibatches,
    updateEpochs: o.epochs,
    entCoef: o.entCoef,
    gamma: o.gamma,
    gaeLambda: o.gaeLambda,
    clipCoef: o.clipCoef,
    hiddenSizes: o.hidden,
    seed: o.seed,
    checkpointDir: ctx.dir,
    ...(ctx.checkpointEvery === null ? {} : { checkpointEvery: ctx.checkpointEvery }),
    fingerprint: o,
    callbacks: { onEvent: ctx.onEvent as (e: PpoTrainEvent) => void },
  };
}

/** PPO (@hypernets/rl's PpoTrainer) with the CLI's option names. */
function ppoRun(o: TrainFingerprint, ctx: AlgoContext): AlgoRun {
  const trainer = new PpoTrainer(trainerOptions(o, ctx));
  const head = trainer.policy.action;
  const act: RolloutPolicy = async (obs) => {
    const x = tf.tensor2d(obs, [1, obs.length]);
    const r = (trainer.policy as PpoAgent).act(x, Int32Array.of(0)); // env 0 (an agent per env group reads it)
    const h = await r.out.data();
    tf.dispose([x, r.out, r.value, ...(r.logStd ? [r.logStd] : [])]);
    return head.kind === 'discrete' ? argmaxRows(h, 1, head.n)[0]! : Array.from(h);
  };
  return {
    train: (resume) => trainer.run({ resume }),
    restore: () => trainer.restoreCheckpoint(),
    evaluate: (episodes, seed) => trainer.evaluate(episodes, seed === undefined ? {} : { seed }),
    policy: () => ({ env: trainer.makeEvaluationEnv(), act }),
    dispose: () => trainer.dispose(),
  };
}

/** HyperPPO (@hypernets/rl's HyperPpoTrainer): evaluates a stratified sample of its architectures. */
function hyperppoRun(o: TrainFingerprint, ctx: AlgoContext): AlgoRun {
  const trainer = new HyperPpoTrainer({
    ...trainerOptions(o, ctx),
    metaBatchSize: o.metaBatch,
    stdMode: o.stdMode,
  });
  let best: number | null = null; // the best evaluated architecture's index
  const evaluate: AlgoRun['evaluate'] = async (episodes, seed) => {
    trainer.envs.close(); // the training envs' memory (MuJoCo's wasm heap) for the evaluation's
    const ids = trainer.space.stratified(ctx.evalArchs ?? 300);
    const evals = await trainer.evaluateArchitectures(ids, { episodes, ...(seed === undefined ? {} : { seed }) });
    const top = evals.reduce((a, b) => (b.meanReturn > a.meanReturn ? b : a));
    best = top.index;
    return {
      returns: top.returns,
      lengths: top.lengths,
      meanReturn: top.meanReturn,
      archs: evals.map((e) => ({ hidden: e.hidden, params: e.params, mean_return: e.meanReturn })),
    };
  };
  const head = trainer.policy.action;
  return {
    train: (resume) => trainer.run({ resume }),
    restore: () => trainer.restoreCheckpoint(),
    evaluate,
    policy: () => {
      // the best architecture of the last evaluation, else the largest of the space
      const index = best ?? trainer.space.size - 1;
      const padded = trainer.policy.generatePadded([index]);
      const act: RolloutPolicy = async (obs) => {
        const x = tf.tensor3d(obs, [1, 1, obs.length]);
        const y = paddedForward(x, padded);
        const h = await y.data();
        tf.dispose([x, y]);
        return head.kind === 'discrete' ? argmaxRows(h, 1, head.n)[0]! : Array.from(h);
      };
      const env = trainer.makeEvaluationEnv();
      const close = env.close.bind(env);
      env.close = () => {
        close();
        disposePadded(padded);
      };
      return { env, act };
    },
    dispose: () => trainer.dispose(),
  };
}

/** Each algorithm of options.ts' ALGOS: how to build its run. */
const ALGO_RUNS: Record<PpoAlgo, (o: TrainFingerprint, ctx: AlgoContext) => AlgoRun> = {
  ppo: ppoRun,
  hyperppo: hyperppoRun,
};

/** Starts the backend (and MuJoCo's wasm module for a MuJoCo env), reporting both on stderr. */
async function start(env: string, backend: string | undefined, io: CommandIo) {
  const info = await initBackend(backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  if (envEntry(env).mujoco) await loadMujoco(); // makeEnv needs MuJoCo's wasm module loaded first
  return info;
}

const mean = (xs: readonly number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
const fmt = (x: number | null) => (x === null ? '-' : x.toFixed(1));

/**
 * `hypernets rl train`: trains (checkpointing into `out`, resuming from it with `resume`), then
 * evaluates the deterministic policy and writes summary.json and the learning curve.
 */
export async function runRlTrain(
  o: ResolvedTrainOptions,
  out: string,
  options: { resume: boolean; io: CommandIo; command: string },
): Promise<RlTrainSummary> {
  const { io } = options;
  const info = await start(o.env, o.backend, io);
  try {
    const iterations = iterationsOf(o);
    const batch = o.numEnvs * o.numSteps;
    io.err(
      `${o.env} ${o.algo}: ${iterations} iterations of ${o.numEnvs} env${o.numEnvs === 1 ? '' : 's'} × ${o.numSteps} ` +
        `steps (${(iterations * batch).toLocaleString('en-US')} env steps` +
        (iterations * batch < o.steps ? `: --steps ${o.steps} rounded down to whole batches` : '') +
        `), lr ${o.lr}, ${o.epochs} epochs of ${o.minibatches} minibatches, hidden ${o.hidden.join('-')}, seed ${o.seed}`,
    );
    const progress = new Progress(
      io,
      'iteration {value}/{total} |{bar}| {steps} steps, {episodes} episodes, return {ret}, {sps} steps/s, ETA {eta_formatted}',
    );
    let started = false;
    let episodes = 0;
    const recent: number[] = [];
    const t0 = performance.now();
    let firstIteration = 0;
    const onEvent = (e: { type: string } & Record<string, unknown>) => {
      const ev = e as PpoTrainEvent;
      if (ev.type === 'resume') io.err(`resuming from ${ev.path} (iteration ${ev.iteration})`);
      if (ev.type === 'checkpoint') progress.note(`  checkpoint at iteration ${ev.iteration}: ${ev.path}`);
      if (ev.type === 'episode') {
        episodes++;
        recent.push(ev.return);
        if (recent.length > 20) recent.shift();
      }
      if (ev.type !== 'iteration') return;
      const payload = {
        steps: ev.globalStep.toLocaleString('en-US'),
        episodes: String(episodes),
        ret: fmt(mean(recent)),
        sps: ev.stepsPerSecond.toFixed(0),
      };
      if (!started) {
        firstIteration = ev.iteration - 1;
        progress.start(ev.iterations, firstIteration, payload);
        started = true;
      }
      const perIteration = (performance.now() - t0) / 1000 / Math.max(1, ev.iteration - firstIteration);
      const eta = Math.round((ev.iterations - ev.iteration) * perIteration);
      progress.update(
        ev.iteration,
        payload,
        () =>
          `  iteration ${ev.iteration}/${ev.iterations}: ${payload.steps} env steps, ${episodes} episodes, ` +
          `return ${payload.ret} (mean of the last ${recent.length}), ${payload.sps} steps/s, ETA ${eta} s`,
        ev.iteration === ev.iterations,
      );
    };
    const run = ALGO_RUNS[o.algo](trainFingerprint(o), {
      dir: out,
      checkpointEvery: o.checkpointEvery,
      onEvent,
      ...(o.evalArchs === undefined ? {} : { evalArchs: o.evalArchs }),
    });
    try {
      let r;
      try {
        r = await run.train(options.resume);
      } finally {
        progress.stop();
      }
      io.err(
        o.evalArchs === undefined
          ? `evaluating the deterministic policy over ${o.evalEpisodes} episode${o.evalEpisodes === 1 ? '' : 's'}`
          : `evaluating ${o.evalArchs} architectures with generated weights, ${o.evalEpisodes} episode${o.evalEpisodes === 1 ? '' : 's'} each`,
      );
      const ev = await run.evaluate(o.evalEpisodes);
      const recent100 = r.episodes.slice(-100).map((e) => e.return);
      const summary: RlTrainSummary = {
        env: o.env,
        algo: o.algo,
        steps: r.globalStep,
        mean_return: ev.meanReturn,
        eval_episodes: o.evalEpisodes,
        seconds: r.seconds,
        steps_per_second: r.seconds > 0 ? r.globalStep / r.seconds : 0,
        backend: info.backend,
        command: 'rl train',
        config: o,
        iterations: r.iterations,
        eval_returns: ev.returns,
        eval_lengths: ev.lengths,
        train_return_last100: mean(recent100),
        episodes: r.episodes.map((e) => [e.step, e.return, e.length]),
        device: info.device,
        invocation: options.command,
        ...(ev.archs ? { archs: ev.archs } : {}),
      };
      const files = await writeTrainReport(out, summary);
      io.out(trainResultText(summary));
      io.out(`wrote ${files.join(', ')}`);
      return summary;
    } finally {
      run.dispose();
    }
  } finally {
    await shutdownBackend();
  }
}

/** Builds the run of `fp` over its checkpoint in `dir` and loads it (no training). */
async function loadRun(fp: TrainFingerprint, dir: string, io: CommandIo) {
  const run = ALGO_RUNS[fp.algo](fp, { dir, checkpointEvery: null, onEvent: () => {} });
  const at = await run.restore();
  if (!at) {
    run.dispose();
    throw new Error(`${dir} holds no checkpoint`); // invariant: the command verified it
  }
  const iterations = Math.floor(fp.steps / (fp.numEnvs * fp.numSteps));
  io.err(
    `${fp.env} ${fp.algo}: the checkpoint at iteration ${at.iteration} of ${iterations} ` +
      `(${at.globalStep.toLocaleString('en-US')} env steps)` +
      (at.iteration < iterations ? ': an unfinished run' : ''),
  );
  return { run, at };
}

export interface RlEvalResult {
  env: string;
  algo: string;
  steps: number;
  mean_return: number;
  eval_episodes: number;
  returns: number[];
  lengths: number[];
  backend: string;
}

/** `hypernets rl eval`: the trained policy of the run in `dir`, evaluated deterministically. */
export async function runRlEval(
  fp: TrainFingerprint | HyperZeroFingerprint,
  dir: string,
  options: { episodes: number; seed?: number; backend?: string; io: CommandIo },
): Promise<RlEvalResult> {
  const { io } = options;
  const info = await start(fp.env, options.backend, io);
  try {
    if (fp.algo === 'hyperzero') return await zeroShotEval(fp, dir, info.backend, options);
    const { run, at } = await loadRun(fp, dir, io);
    try {
      const ev = await run.evaluate(options.episodes, options.seed);
      const result: RlEvalResult = {
        env: fp.env,
        algo: fp.algo,
        steps: at.globalStep,
        mean_return: ev.meanReturn,
        eval_episodes: options.episodes,
        returns: ev.returns,
        lengths: ev.lengths,
        backend: info.backend,
      };
      io.out(
        `${fp.env} ${fp.algo} after ${at.globalStep.toLocaleString('en-US')} env steps: mean return ` +
          `${ev.meanReturn.toFixed(2)} over ${options.episodes} deterministic episode${options.episodes === 1 ? '' : 's'} ` +
          `(${ev.returns.map((x) => x.toFixed(1)).join(', ')})`,
      );
      return result;
    } finally {
      run.dispose();
    }
  } finally {
    await shutdownBackend();
  }
}

/** `rl eval` of a HyperZero run: its model's zero-shot episodes on every held-out context. */
async function zeroShotEval(
  fp: HyperZeroFingerprint,
  dir: string,
  backend: string,
  options: { episodes: number; seed?: number; io: CommandIo },
): Promise<RlEvalResult> {
  const loaded = await loadHyperZero(fp, dir, options.io);
  try {
    const { exp, trainer } = loaded;
    const ev =
      options.seed === undefined
        ? await exp.evaluate(trainer, exp.split.test, options.episodes)
        : await trainer.evaluateZeroShot(exp.split.test, options.episodes, { seed: options.seed });
    const meanReturn = ev.reduce((a, e) => a + e.meanReturn, 0) / ev.length;
    for (const e of ev)
      options.io.out(
        `  held out ${e.context.join(', ')}: ${e.meanReturn.toFixed(2)} (${e.returns.map((x) => x.toFixed(1)).join(', ')})`,
      );
    options.io.out(
      `${fp.env} hyperzero (${fp.model}): zero-shot mean return ${meanReturn.toFixed(2)} over ${ev.length} held-out ` +
        `contexts, ${options.episodes} deterministic episode${options.episodes === 1 ? '' : 's'} each`,
    );
    return {
      env: fp.env,
      algo: fp.algo,
      steps: teacherEnvSteps(loaded.teachers),
      mean_return: meanReturn,
      eval_episodes: options.episodes,
      returns: ev.flatMap((e) => e.returns),
      lengths: ev.flatMap((e) => e.lengths),
      backend,
    };
  } finally {
    loaded.trainer.dispose();
    loaded.trainer.model.dispose();
  }
}

export interface RlRenderResult {
  env: string;
  /** 'trained' (the run's deterministic policy) or 'random'. */
  policy: 'trained' | 'random';
  steps: number;
  return: number;
  frames: number;
  fps: number;
  file: string;
  bytes: number;
}

/**
 * `hypernets rl render`: one episode of the trained policy of the run `from` (its deterministic
 * actions, on the env as it saw it) or of random actions, as an animated SVG in `file`.
 */
export async function runRlRender(
  o: RlRenderOptions & { env: string },
  from: { fp: TrainFingerprint | HyperZeroFingerprint; dir: string } | null,
  options: { io: CommandIo },
): Promise<RlRenderResult> {
  const { io } = options;
  let env: Env;
  let act: RolloutPolicy | null = null;
  let loaded: { dispose(): void } | null = null;
  let what = from ? `${from.fp.algo} policy` : 'random actions';
  if (from?.fp.algo === 'hyperzero') {
    await start(o.env, o.backend, io);
    const hz = await loadHyperZero(from.fp, from.dir, io);
    const p = zeroShotPolicy(hz);
    ({ env, act } = p);
    what = `${from.fp.model}'s zero-shot policy for held-out (${p.context.join(', ')})`;
    io.err(`the policy ${from.fp.model} generates for the held-out context ${hz.exp.key(p.context)}`);
    loaded = {
      dispose: () => {
        p.dispose();
        hz.trainer.dispose();
        hz.trainer.model.dispose();
      },
    };
  } else if (from) {
    await start(o.env, o.backend, io);
    const run = (await loadRun(from.fp as TrainFingerprint, from.dir, io)).run;
    loaded = run;
    ({ env, act } = run.policy());
  } else {
    if (envEntry(o.env).mujoco) await loadMujoco();
    env = makeEnv(o.env);
  }
  try {
    const ro = await recordRollout(env, act, { seed: o.seed, maxSteps: o.steps });
    const fps = o.fps ?? RENDER_FPS[o.env] ?? 30;
    const title = `${o.env}: ${what}, return ${ro.return.toFixed(1)}`;
    const svg = framesToSvg(ro.frames, { fps, width: o.width, title });
    await writeFileAtomic(o.file, svg);
    io.out(
      `${o.env}: ${ro.steps} steps of ${from ? 'the trained policy' : 'random actions'} ` +
        `(${ro.terminated ? 'terminated' : ro.truncated ? 'time limit' : `--steps ${o.steps}`}), return ` +
        `${ro.return.toFixed(2)}; ${ro.frames.length} frames at ${fps} fps (${(ro.frames.length / fps).toFixed(1)} s)`,
    );
    io.out(`wrote ${o.file} (${(svg.length / 1024).toFixed(0)} KiB)`);
    return {
      env: o.env,
      policy: from ? 'trained' : 'random',
      steps: ro.steps,
      return: ro.return,
      frames: ro.frames.length,
      fps,
      file: o.file,
      bytes: Buffer.byteLength(svg),
    };
  } finally {
    env.close();
    loaded?.dispose();
    if (from) await shutdownBackend();
  }
}

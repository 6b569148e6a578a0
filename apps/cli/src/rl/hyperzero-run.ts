import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, shutdownBackend } from '@hypernets/core';
import { writeFileAtomic } from '@hypernets/core/internal';
import { renderPlot, type TopLevelSpec } from '@hypernets/plot';
import {
  ZeroShotExperiment,
  disposePrepared,
  pendulumFamily,
  type Env,
  type HyperZeroEpochStats,
  type HyperZeroTrainEvent,
  type HyperZeroTrainer,
  type RolloutPolicy,
  type TeacherRecord,
} from '@hypernets/rl';
import type { CommandIo } from '../command-io.js';
import { Progress } from '../progress.js';
import type { RlTrainJson } from './report.js';
import {
  HYPERZERO_DEFAULTS,
  hyperzeroFingerprint,
  type HyperZeroFingerprint,
  type ResolvedHyperZeroOptions,
} from './options.js';

/** summary.json of `rl train --algo hyperzero`: the `--json` line's fields first, then the details. */
export interface RlZeroShotSummary extends RlTrainJson {
  algo: 'hyperzero';
  config: ResolvedHyperZeroOptions;
  model: { name: string; parameters: number; epochs: number; updates: number; seconds: number };
  /** Each held-out context: its teacher's mean return, the model's zero-shot returns. */
  held_out: { context: number[]; teacher_return: number; mean_return: number; returns: number[] }[];
  /** The held-out contexts' teachers' mean return (the yardstick of mean_return). */
  teacher_return: number;
  train_contexts: number[][];
  /** The model's losses per logged epoch (train and held-out validation). */
  curve: HyperZeroEpochStats[];
  device: string;
  invocation: string;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The experiment of a run's options: teachers in `<dir>/teachers`, the model's checkpoint in `dir`. */
function experiment(o: HyperZeroFingerprint, dir: string, onTeacher?: (t: TeacherRecord, loaded: boolean) => void) {
  return new ZeroShotExperiment({
    family: pendulumFamily({ grid: o.grid }),
    workDir: dir,
    seed: o.seed,
    teacherSteps: o.steps,
    warmSteps: o.warmSteps,
    datasetEpisodes: o.datasetEpisodes,
    // the teachers' own evaluation (kept with them): fixed, so --eval-episodes can change on --resume
    evalEpisodes: HYPERZERO_DEFAULTS.evalEpisodes,
    gamma: o.gamma,
    ...(onTeacher
      ? { onTeacher: (e: { record: TeacherRecord; loaded: boolean }) => onTeacher(e.record, e.loaded) }
      : {}),
  });
}

function trainer(
  exp: ZeroShotExperiment,
  o: HyperZeroFingerprint,
  teachers: Map<string, TeacherRecord>,
  dir: string,
  extra: { checkpointEvery?: number; onEvent?: (e: HyperZeroTrainEvent) => void } = {},
): HyperZeroTrainer {
  return exp.modelTrainer(o.model, teachers, {
    epochs: o.epochs,
    learningRate: o.lr,
    checkpointDir: dir,
    fingerprint: o,
    ...(extra.checkpointEvery === undefined ? {} : { checkpointEvery: extra.checkpointEvery }),
    ...(extra.onEvent ? { callbacks: { onEvent: extra.onEvent } } : {}),
  });
}

/**
 * `hypernets rl train --algo hyperzero`: the teachers (kept in `<out>/teachers`, reused on
 * --resume), the model (checkpointed in `out`), its zero-shot evaluation on the held-out
 * contexts; summary.json and the loss curve.
 */
export async function runHyperZeroTrain(
  o: ResolvedHyperZeroOptions,
  out: string,
  options: { resume: boolean; io: CommandIo; command: string },
): Promise<RlZeroShotSummary> {
  const { io } = options;
  const info = await initBackend(o.backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  try {
    const fp = hyperzeroFingerprint(o);
    const exp = experiment(fp, out, (t, loaded) => {
      io.err(
        `  teacher ${exp.key(t.context)} (${t.split}${t.init === 'scratch' ? '' : `, from ${t.init}`})${loaded ? ' [saved]' : ''}: ` +
          `return ${t.evalMean.toFixed(1)}, ${t.seconds.toFixed(0)} s`,
      );
    });
    const n = exp.family.contexts.length;
    io.err(
      `${o.env} hyperzero: ${n} contexts (${exp.family.name}), ${exp.split.test.length} held out ` +
        `(${exp.split.test.map((c) => exp.key(c)).join(' ')}); TD3 teachers: ${o.steps.toLocaleString('en-US')} steps from scratch, ` +
        `${o.warmSteps.toLocaleString('en-US')} from a neighbour; then ${o.model}, ${o.epochs} epochs at lr ${o.lr}, seed ${o.seed}`,
    );
    const teachers = await exp.teachers();
    const teacherSteps = teacherEnvSteps(teachers);
    const teacherSeconds = [...teachers.values()].reduce((sum, r) => sum + r.seconds, 0);
    const t = trainer(exp, fp, teachers, out, {
      checkpointEvery: o.checkpointEvery,
      onEvent: (e) => {
        if (e.type === 'resume') io.err(`resuming the model from ${e.path} (epoch ${e.epoch})`);
        if (e.type === 'checkpoint') progress.note(`  checkpoint at epoch ${e.epoch}: ${e.path}`);
        if (e.type !== 'epoch') return;
        const payload = { loss: e.train.action.toFixed(4), valid: e.valid ? e.valid.action.toFixed(4) : '-' };
        if (!started) {
          progress.start(e.epochs, e.epoch - 1, payload);
          started = true;
        }
        progress.update(
          e.epoch,
          payload,
          () => `  epoch ${e.epoch}/${e.epochs}: action loss ${payload.loss}, held-out ${payload.valid}`,
          e.epoch === e.epochs,
        );
      },
    });
    const progress = new Progress(
      io,
      'epoch {value}/{total} |{bar}| action loss {loss}, held-out {valid}, ETA {eta_formatted}',
    );
    let started = false;
    try {
      let r;
      try {
        r = await t.run({ resume: options.resume });
      } finally {
        progress.stop();
      }
      io.err(`zero-shot: ${o.evalEpisodes} episodes on each of the ${exp.split.test.length} held-out contexts`);
      const ev = await exp.evaluate(t, exp.split.test, o.evalEpisodes);
      const heldOut = ev.map((e) => ({
        context: e.context,
        teacher_return: teachers.get(exp.key(e.context))!.evalMean,
        mean_return: e.meanReturn,
        returns: e.returns,
      }));
      const seconds = teacherSeconds + r.seconds;
      const summary: RlZeroShotSummary = {
        env: o.env,
        algo: 'hyperzero',
        steps: teacherSteps,
        mean_return: mean(heldOut.map((h) => h.mean_return)),
        eval_episodes: o.evalEpisodes,
        seconds,
        steps_per_second: teacherSeconds > 0 ? teacherSteps / teacherSeconds : 0,
        backend: info.backend,
        command: 'rl train',
        config: o,
        model: {
          name: o.model,
          parameters: t.model.parameterCount,
          epochs: r.epochs,
          updates: r.updates,
          seconds: r.seconds,
        },
        held_out: heldOut,
        teacher_return: mean(heldOut.map((h) => h.teacher_return)),
        train_contexts: exp.split.train,
        curve: r.curve,
        device: info.device,
        invocation: options.command,
      };
      const files = await writeZeroShotReport(out, summary);
      io.out(zeroShotResultText(summary));
      io.out(`wrote ${files.join(', ')}`);
      return summary;
    } finally {
      t.dispose();
      t.model.dispose();
    }
  } finally {
    await shutdownBackend();
  }
}

/** Env steps of every teacher's TD3 training (every attempt): a HyperZero run's `steps`. */
export function teacherEnvSteps(teachers: Map<string, TeacherRecord>): number {
  return [...teachers.values()].reduce((sum, t) => sum + t.attempts.reduce((n, a) => n + a.steps, 0), 0);
}

/** A run's trainer with its checkpoint loaded (no training): for `rl eval` and `rl render`. */
export async function loadHyperZero(fp: HyperZeroFingerprint, dir: string, io: CommandIo) {
  const exp = experiment(fp, dir);
  const teachers = await exp.teachers();
  const t = trainer(exp, fp, teachers, dir);
  const at = await t.restoreCheckpoint();
  if (!at) {
    t.dispose();
    t.model.dispose();
    throw new Error(`${dir} holds no checkpoint`); // invariant: the command verified it
  }
  io.err(
    `${fp.env} hyperzero (${fp.model}): the checkpoint at epoch ${at.epoch} of ${fp.epochs}` +
      (at.epoch < fp.epochs ? ': an unfinished run' : ''),
  );
  return { exp, trainer: t, teachers, at };
}

/**
 * The deterministic policy the model generates for `context` (default: the first held-out one),
 * and that context's env, for `rl render`.
 */
export function zeroShotPolicy(
  loaded: Awaited<ReturnType<typeof loadHyperZero>>,
  context?: readonly number[],
): { env: Env; act: RolloutPolicy; context: number[]; dispose: () => void } {
  const ctx = [...(context ?? loaded.exp.split.test[0]!)];
  const model = loaded.trainer.model;
  const c = tf.tensor2d([ctx]);
  const prepared = model.prepare(c);
  c.dispose();
  const env = loaded.exp.family.makeEnv(ctx);
  const scale = env.actionSpace.high[0]!;
  const act: RolloutPolicy = async (obs) => {
    const a = tf.tidy(() => model.act(prepared, tf.tensor2d(obs, [1, obs.length]), tf.tensor1d([0], 'int32')));
    const h = await a.data();
    a.dispose();
    return Array.from(h, (v) => v * scale);
  };
  return { env: env as Env, act, context: ctx, dispose: () => disposePrepared(prepared) };
}

/** The model's action losses per epoch (training and held-out contexts). */
export function lossCurveSpec(s: RlZeroShotSummary): TopLevelSpec {
  const rows = s.curve.flatMap((e) => [
    { epoch: e.epoch, value: e.train.action, series: 'training contexts' },
    ...(e.valid ? [{ epoch: e.epoch, value: e.valid.action, series: 'held-out contexts' }] : []),
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${s.model.name} on ${s.env} contexts: ‖π̂(s) − a*‖² per epoch (zero-shot return ${s.mean_return.toFixed(1)}, teachers ${s.teacher_return.toFixed(1)})`,
    data: { values: rows },
    width: 560,
    height: 320,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'value', type: 'quantitative', title: 'action loss', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom' } },
    },
  } as unknown as TopLevelSpec;
}

/** summary.json (atomically) and curve.{svg,png} into `dir`; returns the files written. */
export async function writeZeroShotReport(dir: string, s: RlZeroShotSummary): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const summary = join(dir, 'summary.json');
  await writeFileAtomic(summary, JSON.stringify(s, null, 2) + '\n');
  const curve = await renderPlot(lossCurveSpec(s), join(dir, 'curve'));
  return [summary, curve.svg, curve.png];
}

export function zeroShotResultText(s: RlZeroShotSummary): string {
  return [
    `${s.env} hyperzero: teachers ${s.steps.toLocaleString('en-US')} TD3 env steps; ${s.model.name} ` +
      `(${s.model.parameters.toLocaleString('en-US')} parameters) ${s.model.epochs} epochs; ${s.seconds.toFixed(1)} s in all`,
    ...s.held_out.map(
      (h) =>
        `  held out ${h.context.join(', ')}: zero-shot ${h.mean_return.toFixed(1)} (teacher ${h.teacher_return.toFixed(1)})`,
    ),
    `zero-shot mean return on the held-out contexts: ${s.mean_return.toFixed(2)} (their teachers: ${s.teacher_return.toFixed(2)})`,
  ].join('\n');
}

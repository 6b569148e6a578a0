import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError } from '@hypernets/core';
import { MAX_JSON_DEPTH, parseBoundedJson, writeFileAtomic } from '@hypernets/core/internal';
import { buildDataset, splitContexts, type ZeroShotDataset } from './dataset.js';
import { ContextMlp, HyperZero, type ZeroShotModel } from './model.js';
import type { ContextFamily } from './family.js';
import { Td3Teacher, type TeacherRollout } from './teacher.js';
import { rolloutJson, rolloutOf, teacherRecordSchema, type TeacherRecord } from './teacher-record.js';
import { HyperZeroTrainer, type HyperZeroTrainerOptions } from './trainer.js';

/**
 * HyperZero's whole protocol over a family of contexts, as the reference runs it: a near-optimal
 * teacher per context (TD3), their deterministic rollouts as the dataset, the contexts split into
 * training and held-out ones, then any of the four models (HyperZero with or without Q, the
 * context-conditioned MLPs) trained on the training contexts and run zero-shot on the held-out ones.
 *
 * Everything it trains is kept in `workDir`: one JSON per finished teacher (its evaluation, its
 * rollouts and its weights) and one checkpoint directory per model, so a killed run picks up where
 * it stopped. Teachers are visited in the family's order, each next one warm-started from the one
 * before (a neighbour), from scratch again when it fails (`teacherFloor`).
 */

/** The models the experiment trains, by the reference's names. */
export const ZERO_SHOT_MODELS = {
  hyperzero: 'HyperZero: generated policy and Q, ‖π̂ − a*‖² + 0.01‖Q̂ − Q*‖² + 0.01·TD',
  hyperzero_without_q: 'HyperZero without Q: generated policy, ‖π̂ − a*‖²',
  mlp_rl_td: 'context MLP with Q and TD (the reference’s mlp_rl_td)',
  mlp_policy: 'context MLP policy, ‖π̂ − a*‖² only (the reference’s mlp_policy)',
} as const;
/** A model's name as the reference names it: a key of ZERO_SHOT_MODELS. */
export type ZeroShotModelName = keyof typeof ZERO_SHOT_MODELS;

/** A fresh model of kind `name` for contexts of `contextSize` values. */
export function makeZeroShotModel(
  name: ZeroShotModelName,
  sizes: { contextSize: number; observationSize: number; actionSize: number },
  seed: number,
): ZeroShotModel {
  const config = { ...sizes, seed };
  switch (name) {
    case 'hyperzero':
      return new HyperZero(config);
    case 'hyperzero_without_q':
      return new HyperZero({ ...config, withQ: false });
    case 'mlp_rl_td':
      return new ContextMlp(config);
    case 'mlp_policy':
      return new ContextMlp({ ...config, withQ: false });
    default:
      throw new ConfigError(
        'model',
        `unknown model '${String(name)}'; known: ${Object.keys(ZERO_SHOT_MODELS).join(', ')}`,
      );
  }
}

/** What a ZeroShotExperiment runs: the family, where it keeps its work, the teachers' budget. */
export interface ZeroShotExperimentOptions {
  family: ContextFamily;
  /** Where teachers and model checkpoints are kept (created if missing). */
  workDir: string;
  /** Share of the contexts held out. Default 0.2 (the reference's). */
  testFraction?: number;
  /** Seeds the split and the models. Default 2 (the reference's `seed`). */
  seed?: number;
  /** TD3 steps of a teacher trained from scratch. Default 20,000. */
  teacherSteps?: number;
  /** TD3 steps of a teacher warm-started from its neighbour (0: every teacher from scratch). Default 6,000. */
  warmSteps?: number;
  /** Deterministic teacher episodes per context in the dataset. Default 50. */
  datasetEpisodes?: number;
  /** Deterministic episodes per context when teachers and models are evaluated. Default 10. */
  evalEpisodes?: number;
  /** The TD term's and the teachers' discount. Default 0.98. */
  gamma?: number;
  /** After each teacher (trained or loaded). */
  onTeacher?: (e: { index: number; count: number; record: TeacherRecord; loaded: boolean }) => void | Promise<void>;
}

/** Evaluation episodes' reset seeds: `episodeSeed(EVAL_SEED, e)`; the dataset's: DATASET_SEED. */
export const ZERO_SHOT_EVAL_SEED = 200;
const DATASET_SEED = 100;

/**
 * HyperZero's protocol over a context family (see the file comment): `split`, `teachers()`,
 * `datasets()`, `modelTrainer(name, …)`, `evaluate(trainer)`; resumable through `workDir`.
 */
export class ZeroShotExperiment {
  readonly family: ContextFamily;
  readonly workDir: string;
  readonly config: Required<Omit<ZeroShotExperimentOptions, 'family' | 'workDir' | 'onTeacher'>>;
  /** The training and held-out contexts. */
  readonly split: { train: number[][]; test: number[][] };
  private readonly onTeacher: ZeroShotExperimentOptions['onTeacher'];

  constructor(options: ZeroShotExperimentOptions) {
    const {
      family,
      workDir,
      testFraction = 0.2,
      seed = 2,
      teacherSteps = 20_000,
      warmSteps = 6_000,
      datasetEpisodes = 50,
      evalEpisodes = 10,
      gamma = 0.98,
    } = options;
    const int = (name: string, v: number, min: number) => {
      if (!Number.isInteger(v) || v < min) throw new ConfigError(name, `must be an integer ≥ ${min}, got ${v}`);
    };
    int('seed', seed, 0);
    int('teacherSteps', teacherSteps, 1);
    int('warmSteps', warmSteps, 0);
    int('datasetEpisodes', datasetEpisodes, 1);
    int('evalEpisodes', evalEpisodes, 1);
    if (!(gamma >= 0 && gamma <= 1)) throw new ConfigError('gamma', `must be in [0, 1], got ${gamma}`);
    if (family.contexts.length < 2) throw new ConfigError('family', 'needs at least two contexts');
    this.family = family;
    this.workDir = workDir;
    this.config = { testFraction, seed, teacherSteps, warmSteps, datasetEpisodes, evalEpisodes, gamma };
    // split in a canonical order (lexicographic), not the teachers' visiting order
    const sorted = family.contexts.map((c) => [...c]).sort(lexicographic);
    const split = splitContexts(sorted, { testFraction, seed });
    if (split.test.length === 0)
      throw new ConfigError('testFraction', `${testFraction} of ${family.contexts.length} contexts holds none out`);
    this.split = split;
    this.onTeacher = options.onTeacher;
  }

  /** A context's name in file names and tables: `l0.60_m1.20`. */
  key(context: readonly number[]): string {
    return context.map((v, i) => `${this.family.contextNames[i] ?? `c${i}`}${v.toFixed(2)}`).join('_');
  }

  isHeldOut(context: readonly number[]): boolean {
    const k = this.key(context);
    return this.split.test.some((c) => this.key(c) === k);
  }

  private teacherPath(context: readonly number[]): string {
    return join(this.workDir, 'teachers', `${this.key(context)}.json`);
  }

  private teacherSettings(): TeacherRecord['settings'] {
    const { teacherSteps, warmSteps, gamma, evalEpisodes } = this.config;
    return { teacherSteps, warmSteps, gamma, evalEpisodes };
  }

  private makeTeacher(context: readonly number[], seed: number, steps: number, warmup?: number): Td3Teacher {
    return new Td3Teacher({
      makeEnv: () => this.family.makeEnv(context),
      totalSteps: steps,
      warmupSteps: warmup,
      gamma: this.config.gamma,
      seed,
    });
  }

  /** A teacher's variables set from a record's weights. */
  private teacherFrom(record: TeacherRecord): Td3Teacher {
    const t = this.makeTeacher(record.context, 0, 1);
    for (const [k, v] of Object.entries(t.variables)) {
      const w = record.weights[k];
      if (!w || w.length !== v.size)
        throw new CheckpointError(this.teacherPath(record.context), `holds no weights '${k}' of ${v.size} values`);
      v.assign(tf.tensor(w, v.shape, 'float32'));
    }
    return t;
  }

  /** A saved teacher, validated; null when there is none. */
  async loadTeacher(context: readonly number[]): Promise<TeacherRecord | null> {
    const path = this.teacherPath(context);
    if (!existsSync(path)) return null;
    const json = parseBoundedJson(await readFile(path), { maxDepth: MAX_JSON_DEPTH }, path, 'teacher');
    const r = teacherRecordSchema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new CheckpointError(path, `is not a teacher record: ${issue.path.join('.')}: ${issue.message}`);
    }
    const record = r.data;
    if (this.key(record.context) !== this.key(context))
      throw new CheckpointError(path, `holds the teacher of ${this.key(record.context)}, not ${this.key(context)}`);
    const want = this.teacherSettings();
    const differ = (Object.keys(want) as (keyof typeof want)[]).filter((k) => record.settings[k] !== want[k]);
    if (differ.length > 0)
      throw new CheckpointError(
        path,
        `holds a teacher trained with ${differ.map((k) => `${k} ${record.settings[k]}`).join(', ')}; this experiment's ` +
          `${differ.map((k) => `${k} ${want[k]}`).join(', ')} (use another work directory, or the settings it was made with)`,
      );
    const ro = record.rollout;
    const n = ro.rewards.length;
    if (
      ro.states.length !== n * ro.observationSize ||
      ro.nextStates.length !== n * ro.observationSize ||
      ro.actions.length !== n * ro.actionSize ||
      ro.dones.length !== n ||
      ro.values.length !== n
    )
      throw new CheckpointError(path, `holds a rollout whose arrays disagree on its ${n} transitions`);
    return record;
  }

  /**
   * Every context's teacher: loaded from `workDir` when finished before, else trained (warm-started
   * from the previous context's teacher) and saved. A saved teacher whose dataset has another
   * number of episodes is rolled out again.
   */
  async teachers(): Promise<Map<string, TeacherRecord>> {
    const c = this.config;
    const out = new Map<string, TeacherRecord>();
    let previous: TeacherRecord | null = null;
    const contexts = this.family.contexts;
    for (const [index, context] of contexts.entries()) {
      let record = await this.loadTeacher(context);
      const loaded = record !== null;
      if (record && record.rollout.returns.length !== c.datasetEpisodes) {
        const t = this.teacherFrom(record);
        record = { ...record, rollout: rolloutJson(await t.rollout(c.datasetEpisodes, DATASET_SEED)) };
        t.dispose();
        await this.saveTeacher(record);
      }
      record ??= await this.trainTeacher(context, index, previous);
      out.set(this.key(context), record);
      previous = record;
      await this.onTeacher?.({ index, count: contexts.length, record, loaded });
    }
    return out;
  }

  private async saveTeacher(record: TeacherRecord): Promise<void> {
    await mkdir(join(this.workDir, 'teachers'), { recursive: true });
    await writeFileAtomic(this.teacherPath(record.context), JSON.stringify(record));
  }

  private async trainTeacher(
    context: readonly number[],
    index: number,
    parent: TeacherRecord | null,
  ): Promise<TeacherRecord> {
    const c = this.config;
    const plans: { init: string; seed: number; steps: number; warmup?: number }[] = [];
    if (parent && c.warmSteps > 0)
      plans.push({ init: this.key(parent.context), seed: index, steps: c.warmSteps, warmup: 256 });
    plans.push({ init: 'scratch', seed: plans.length ? 1000 + index : index, steps: c.teacherSteps });
    if (plans.length === 1) plans.push({ init: 'scratch', seed: 2000 + index, steps: c.teacherSteps });
    const attempts: TeacherRecord['attempts'] = [];
    let best: { t: Td3Teacher; init: string; tail: number | null; ev: TeacherRollout; mean: number } | null = null;
    for (const plan of plans) {
      const t = this.makeTeacher(context, plan.seed, plan.steps, plan.warmup);
      if (plan.init !== 'scratch') {
        const from = this.teacherFrom(parent!);
        t.copyFrom(from);
        from.dispose();
      }
      const r = await t.train();
      const ev = await t.rollout(c.evalEpisodes, ZERO_SHOT_EVAL_SEED);
      const evalMean = mean(ev.returns);
      attempts.push({ ...plan, seconds: r.seconds, evalMean });
      if (!best || evalMean > best.mean) {
        best?.t.dispose();
        best = {
          t,
          init: plan.init,
          tail: r.episodeReturns.length > 0 ? mean(r.episodeReturns.slice(-10)) : null,
          ev,
          mean: evalMean,
        };
      } else t.dispose();
      if (evalMean > this.family.teacherFloor) break;
    }
    const b = best!;
    const data = await b.t.rollout(c.datasetEpisodes, DATASET_SEED);
    const weights: Record<string, number[]> = {};
    for (const [k, v] of Object.entries(b.t.variables)) weights[k] = Array.from(await v.data());
    b.t.dispose();
    const record: TeacherRecord = {
      context: [...context],
      settings: this.teacherSettings(),
      split: this.isHeldOut(context) ? 'test' : 'train',
      init: b.init,
      attempts,
      seconds: attempts.reduce((s, a) => s + a.seconds, 0),
      trainTail: b.tail,
      evalReturns: b.ev.returns,
      evalMean: b.mean,
      rollout: rolloutJson(data),
      weights,
    };
    await this.saveTeacher(record);
    return record;
  }

  /** The training contexts' transitions and the held-out ones' (for validation losses). */
  datasets(teachers: Map<string, TeacherRecord>): { train: ZeroShotDataset; validation: ZeroShotDataset } {
    const of = (cs: number[][]) =>
      buildDataset(
        cs.map((context) => {
          const t = teachers.get(this.key(context));
          if (!t) throw new ConfigError('teachers', `has no teacher for ${this.key(context)}`);
          return { context, rollout: rolloutOf(t) };
        }),
        this.config.gamma,
      );
    return { train: of(this.split.train), validation: of(this.split.test) };
  }

  /** A fresh model of kind `name` for this family (seeded with the experiment's seed). */
  makeModel(name: ZeroShotModelName, data: ZeroShotDataset): ZeroShotModel {
    return makeZeroShotModel(
      name,
      { contextSize: data.contexts[0]!.length, observationSize: data.observationSize, actionSize: data.actionSize },
      this.config.seed,
    );
  }

  /** Where model `name` keeps its checkpoints. */
  modelDir(name: ZeroShotModelName): string {
    return join(this.workDir, 'models', name);
  }

  /**
   * A trainer of a fresh model `name` on the training contexts (validation losses on the held-out
   * ones), checkpointing in `checkpointDir` (default `modelDir(name)`); `run({ resume: true })`
   * continues a saved one. The caller disposes the trainer and the model.
   */
  modelTrainer(
    name: ZeroShotModelName,
    teachers: Map<string, TeacherRecord>,
    options: Omit<HyperZeroTrainerOptions, 'model' | 'data' | 'validation' | 'makeEnv' | 'seed'>,
  ): HyperZeroTrainer {
    const { train, validation } = this.datasets(teachers);
    const model = this.makeModel(name, train);
    return new HyperZeroTrainer({
      ...options,
      model,
      data: train,
      validation,
      seed: this.config.seed,
      makeEnv: (context) => this.family.makeEnv(context),
      checkpointDir: options.checkpointDir ?? this.modelDir(name),
    });
  }

  /**
   * The zero-shot episodes of a trained model on `contexts` (default: the held-out ones),
   * `episodes` each (default evalEpisodes), reset seeds as the teachers' evaluation.
   */
  evaluate(
    trainer: HyperZeroTrainer,
    contexts: readonly (readonly number[])[] = this.split.test,
    episodes: number = this.config.evalEpisodes,
  ) {
    return trainer.evaluateZeroShot(contexts, episodes, { seed: ZERO_SHOT_EVAL_SEED });
  }
}

function lexicographic(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

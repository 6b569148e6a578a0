import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  Adam,
  CheckpointError,
  ConfigError,
  HypernetsError,
  Rng,
  ShapeMismatchError,
  assertSameRunConfig,
  countCorrect,
  countParams,
  initWeights,
  loadCheckpointIfAny,
  restoreVariables,
  saveCheckpoint,
  softmaxCrossEntropy,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import { disposeBatch, type Batch, type DataSplit, type SamplerState } from '@hypernets/data';
import type { GHN2 } from './ghn2.js';
import type { ArchGraph } from './graph.js';

// ---------------------------------------------------------------------------------------
// architectures

/** One architecture to train or evaluate on: a weightless TargetNet and its graph. */
export interface ArchSample {
  /** Identifies the architecture (a DeepNets-1M index, a zoo name, a description string). */
  readonly id: string | number;
  readonly net: TargetNet;
  readonly graph: ArchGraph;
}

/**
 * Where meta-training draws architectures from: every call returns one, drawn with `rng` only
 * (so a run is reproducible and a checkpointed rng state resumes the same sequence). The
 * architecture sampler (zoo/sampler.ts, `{ id, family, net, graph, info }`) is one; see
 * sources.ts for fixed lists and a small MLP/CNN/ResNet family.
 */
export interface ArchSource {
  sample(rng: Rng): ArchSample;
}

const trainingErrorMarker = 'hypernets.error.TrainingError';
const trainingErrorSymbol = Symbol.for(trainingErrorMarker);

/** The training step failed more often than the patience allows (non-finite loss or gradients). */
export class TrainingError extends HypernetsError {
  private readonly [trainingErrorSymbol] = true;
  override readonly name: string = 'TrainingError';

  /** True for a TrainingError from any copy of @hypernets/graph (`instanceof` is not, across copies). */
  static override isInstance(error: unknown): error is TrainingError {
    return HypernetsError.hasMarker(error, trainingErrorMarker);
  }
}

/**
 * x [B, D] (flattened images, as @hypernets/data serves them) in the shape `net` takes: as is
 * for nets with a flat input (MLPs), reshaped to [B, ...inputShape] otherwise ([B, 28, 28, 1]
 * for MNIST convnets; row-major pixels are NHWC with one channel).
 */
export function netInput(net: TargetNet, x: tf.Tensor): tf.Tensor {
  const want = net.inputShape;
  const per = want.reduce((a, b) => a * b, 1);
  const B = x.shape[0]!;
  if (x.size !== B * per)
    throw new ShapeMismatchError(`${net.name} input`, [B, ...want], x.shape, `the data has ${x.size / B} values per sample, the net takes ${per}`);
  if (x.rank === want.length + 1 && want.every((d, i) => d === x.shape[i + 1])) return x;
  return tf.reshape(x, [B, ...want]);
}

/** 32-bit FNV-1a of a string, mixed with a seed: per-architecture seeds that do not depend on draw order. */
export function archSeed(seed: number, id: string | number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  const s = String(id);
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h & 0x7fffffff;
}

/**
 * Weights of the parameters the GHN does not predict (`Prediction.missing`: layers the graph
 * cannot describe): the net's own init, seeded by (seed, architecture id), so the same
 * architecture always gets the same values. They are constants, never trained by the GHN.
 */
export function missingWeights(arch: ArchSample, names: readonly string[], seed: number): Weights {
  if (names.length === 0) return {};
  const want = new Set(names);
  return initWeights(
    arch.net.params.filter((p) => want.has(p.name)),
    new Rng(archSeed(seed, arch.id)),
  );
}

/** Batch-norm nets run with batch statistics (ppuda evaluates predicted parameters with bn_train=True); nets without BN in eval mode. */
function usesBatchNorm(net: TargetNet): boolean {
  return (net.stateSpecs?.length ?? 0) > 0;
}

// ---------------------------------------------------------------------------------------
// trainer config

const posInt = z.number().int().positive();

const configSchema = z
  .object({
    steps: posInt,
    archsPerStep: posInt.default(8),
    batchSize: posInt.default(64),
    lr: z.number().positive().finite().default(1e-3),
    weightDecay: z.number().nonnegative().finite().default(1e-5),
    gradClip: z.number().positive().nullable().default(5),
    lrMilestones: z.array(z.number().int().nonnegative()).optional(),
    gamma: z.number().positive().finite().default(0.1),
    seed: z.number().int().nonnegative().default(0),
    logEvery: posInt.default(10),
    checkpointDir: z.string().min(1).optional(),
    checkpointEvery: posInt.optional(),
    maxSkips: z.number().int().nonnegative().optional(),
    fingerprint: z.unknown().optional(),
  })
  .strict();

export interface GhnTrainerConfig {
  /** Meta-training steps (one batch of images, `archsPerStep` architectures each). */
  steps: number;
  /** m, architectures per step (ppuda's -m / meta_batch_size; GHN-2: 8). Default 8. */
  archsPerStep?: number;
  /** Images per step (ppuda's CIFAR-10 default: 64). Default 64. */
  batchSize?: number;
  /** Adam learning rate. Default 1e-3 (ppuda). */
  lr?: number;
  /** torch.optim.Adam weight decay (L2 in the gradient). Default 1e-5 (ppuda). */
  weightDecay?: number;
  /** Clip the GHN's gradients to this global norm (ppuda's clip_grad_norm_ at 5); null: no clipping. Default 5. */
  gradClip?: number | null;
  /**
   * MultiStepLR milestones in steps: lr ← lr·gamma at each. Default [⌊2K/3⌋, ⌊5K/6⌋] for K steps
   * (ppuda: epochs 200 and 250 of 300).
   */
  lrMilestones?: number[];
  /** Default 0.1 (ppuda). */
  gamma?: number;
  /** Seeds architecture draws, the image order and the init of unpredicted parameters. Default 0. */
  seed?: number;
  /** Emit a step event (and a curve point) every this many steps. Default 10. */
  logEvery?: number;
  /** Where checkpoints go (`checkpoint.safetensors` + `checkpoint.json`); none: no checkpoints. */
  checkpointDir?: string;
  /** Checkpoint every this many steps (and always at the end). Default: at the end only. */
  checkpointEvery?: number;
  /**
   * Steps skipped for a non-finite loss or gradient before giving up with a TrainingError
   * (ppuda: 1/50 of an epoch's batches). Default max(10, ⌊steps/50⌋).
   */
  maxSkips?: number;
  /** What must match for a checkpoint to be resumed (the run's configuration); stored and compared. */
  fingerprint?: unknown;
}

type Resolved = Required<Omit<GhnTrainerConfig, 'checkpointDir' | 'checkpointEvery' | 'fingerprint'>> & Pick<GhnTrainerConfig, 'checkpointDir' | 'checkpointEvery' | 'fingerprint'>;

function resolveConfig(config: GhnTrainerConfig): Resolved {
  const r = configSchema.safeParse(config);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new ConfigError(issue.path.join('.') || 'config', issue.message);
  }
  const c = r.data;
  if (c.checkpointEvery !== undefined && !c.checkpointDir) throw new ConfigError('checkpointEvery', 'needs checkpointDir');
  const lrMilestones = c.lrMilestones ?? [Math.floor((2 * c.steps) / 3), Math.floor((5 * c.steps) / 6)];
  return { ...c, lrMilestones: [...lrMilestones].sort((a, b) => a - b), maxSkips: c.maxSkips ?? Math.max(10, Math.floor(c.steps / 50)) };
}

/** MultiStepLR: the rate for (0-based) step `step`. */
export function multiStepLr(lr: number, milestones: readonly number[], gamma: number, step: number): number {
  let n = 0;
  for (const m of milestones) if (step >= m) n++;
  return lr * gamma ** n;
}

// ---------------------------------------------------------------------------------------
// events and results

export type GhnTrainEvent =
  | { type: 'step'; step: number; steps: number; loss: number; accuracy: number; lr: number; archsPerSecond: number; skipped: number }
  | { type: 'skip'; step: number; loss: number; gradNorm: number; skipped: number }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'resume'; step: number; path: string };

export interface GhnCurvePoint {
  step: number;
  /** Mean cross-entropy over the step's m architectures. */
  loss: number;
  /** Training accuracy of the predicted parameters, over the m architectures and the batch. */
  accuracy: number;
  lr: number;
}

export interface GhnTrainResult {
  /** Steps done (equals config.steps unless stopped early with `until`). */
  step: number;
  /** Steps whose loss or gradients were not finite (no update). */
  skipped: number;
  /** Wall time of training, summed over resumed runs. */
  seconds: number;
  /** Distinct architecture ids drawn. */
  archsSeen: number;
  curve: GhnCurvePoint[];
}

interface Progress {
  step: number;
  skipped: number;
  seconds: number;
  rng: number[];
  sampler: SamplerState | null;
  adamStep: number;
  seen: (string | number)[];
  curve: GhnCurvePoint[];
}

const progressSchema = z.object({
  step: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  rng: z.array(z.number().int()).min(1),
  sampler: z.object({ epochRng: z.array(z.number().int()).min(1), epoch: z.number().int().nonnegative(), position: z.number().int().nonnegative() }).nullable(),
  adamStep: z.number().int().nonnegative(),
  seen: z.array(z.union([z.string(), z.number()])),
  curve: z.array(z.object({ step: z.number(), loss: z.number(), accuracy: z.number(), lr: z.number() })),
});

const ghnMetaSchema = z.object({ ghnConfig: z.unknown(), ghnTrainer: progressSchema, config: z.unknown().optional() }).passthrough();

/** Seed of the image order, apart from the architecture stream. */
function dataSeed(seed: number): number {
  return archSeed(seed, 'images');
}

// ---------------------------------------------------------------------------------------
// trainer

/**
 * Meta-trains a GHN (Knyazev et al. 2021, §3-4; ppuda's train_ghn.py and Trainer.update): each
 * step draws m architectures, predicts all their parameters in one batched `ghn.predict`, runs
 * every net on the same image batch (training mode: batch norm with batch statistics), and
 * takes one Adam step on the mean cross-entropy over the m nets, with the gradients clipped to
 * a global norm. A step whose loss or gradient norm is not finite is skipped and counted (ppuda
 * restarts the batch on a NaN loss); too many and it stops with a TrainingError.
 *
 * Parameters a graph does not predict (`Prediction.missing`) keep a fixed seeded init
 * (`missingWeights`): they take part in the forward pass, but nothing trains them.
 *
 * Checkpoints (every `checkpointEvery` steps and at the end, atomic) hold the GHN's variables
 * under ppuda's state_dict names, Adam's moments, the step, the architecture/dropout rng, the
 * image sampler's position and the learning curve; `run({ resume: true })` continues from one
 * exactly: same backend, same numbers as a run that never stopped.
 */
export class GhnTrainer {
  readonly config: Resolved;
  private readonly vars: tf.Variable[];
  private readonly names: string[];
  private readonly adam: Adam;
  private progress: Progress | null = null;

  constructor(
    readonly ghn: GHN2,
    readonly source: ArchSource,
    readonly train: DataSplit,
    config: GhnTrainerConfig,
    private readonly onEvent: (e: GhnTrainEvent) => void = () => {},
  ) {
    this.config = resolveConfig(config);
    this.names = ghn.params.map((p) => p.name);
    this.vars = ghn.trainableVariables();
    this.adam = new Adam(this.vars, { weightDecay: this.config.weightDecay });
    if (this.config.batchSize > train.size) throw new ConfigError('batchSize', `${this.config.batchSize} is larger than the training split (${train.size} samples)`);
  }

  private get checkpointPath(): string | null {
    return this.config.checkpointDir ? `${this.config.checkpointDir.replace(/[\\/]+$/, '')}/checkpoint` : null;
  }

  /**
   * Runs to `config.steps` (or stops after step `until`): from scratch, from where this
   * trainer's last run stopped, or, with `resume`, from the checkpoint in checkpointDir (none
   * there yet: from scratch).
   */
  async run(options: { resume?: boolean; until?: number } = {}): Promise<GhnTrainResult> {
    const c = this.config;
    const until = Math.min(options.until ?? c.steps, c.steps);
    // a second run() continues where the last one stopped (run({ until }) then run())
    let p: Progress = this.progress ?? { step: 0, skipped: 0, seconds: 0, rng: new Rng(c.seed).getState(), sampler: null, adamStep: 0, seen: [], curve: [] };
    if (options.resume) p = (await this.restore()) ?? p;
    const rng = new Rng(p.rng);
    const sampler = this.train.sampler(c.batchSize, p.sampler ?? dataSeed(c.seed));
    const seen = new Set<string | number>(p.seen);
    const t0 = performance.now();
    const prior = p.seconds;
    let window = performance.now();
    let windowSteps = 0;
    let step = p.step;
    const save = async () => {
      p = { ...p, step, rng: rng.getState(), sampler: sampler.getState(), adamStep: this.adam.t, seen: [...seen], seconds: prior + (performance.now() - t0) / 1000 };
      await this.save(p);
    };
    while (step < until) {
      const lr = multiStepLr(c.lr, c.lrMilestones, c.gamma, step);
      const archs = Array.from({ length: c.archsPerStep }, () => this.source.sample(rng));
      for (const a of archs) seen.add(a.id);
      const batch = sampler.next();
      const stepRng = rng.fork(); // dropout masks, if a net has dropout
      const out = this.step(archs, batch, stepRng);
      disposeBatch(batch);
      const [loss, gradNorm, correct] = (await out.stats.data()) as Float32Array;
      out.stats.dispose();
      const finite = Number.isFinite(loss) && Number.isFinite(gradNorm);
      if (finite) this.adam.step(out.grads, lr);
      tf.dispose(out.grads.filter((g): g is tf.Tensor => g !== null));
      step++;
      windowSteps++;
      if (!finite) {
        p.skipped++;
        this.onEvent({ type: 'skip', step, loss: loss!, gradNorm: gradNorm!, skipped: p.skipped });
        if (p.skipped > c.maxSkips)
          throw new TrainingError(`the loss or its gradients were not finite in ${p.skipped} steps (last: step ${step}, loss ${loss}, gradient norm ${gradNorm}); lower the learning rate or resume from the last checkpoint with another seed`);
      }
      if (step % c.logEvery === 0 || step === until) {
        const accuracy = correct! / (c.archsPerStep * c.batchSize);
        p.curve.push({ step, loss: loss!, accuracy, lr });
        const now = performance.now();
        this.onEvent({ type: 'step', step, steps: c.steps, loss: loss!, accuracy, lr, archsPerSecond: (windowSteps * c.archsPerStep * 1000) / Math.max(now - window, 1e-3), skipped: p.skipped });
        window = now;
        windowSteps = 0;
      }
      if (this.checkpointPath && ((c.checkpointEvery !== undefined && step % c.checkpointEvery === 0) || step === until)) await save();
    }
    p = { ...p, step, rng: rng.getState(), sampler: sampler.getState(), adamStep: this.adam.t, seen: [...seen], seconds: prior + (performance.now() - t0) / 1000 };
    this.progress = p;
    return { step, skipped: p.skipped, seconds: p.seconds, archsSeen: seen.size, curve: [...p.curve] };
  }

  /**
   * One meta-training step's forward and backward pass: the gradients of the mean
   * cross-entropy w.r.t. the GHN's variables (clipped; null where a variable got none), and
   * [loss, global gradient norm before clipping, correct predictions over all nets] as one
   * tensor (one read-back per step).
   */
  step(archs: readonly ArchSample[], batch: Batch, rng: Rng = new Rng(0)): { grads: (tf.Tensor | null)[]; stats: tf.Tensor1D } {
    const { seed, gradClip } = this.config;
    const m = archs.length;
    const graphs = archs.map((a) => a.graph);
    return tf.tidy(() => {
      // One tape over all m nets would hold every net's activations at once (CellNets × 8
      // filled wasm's 4 GB heap). So: predict, then per net (one at a time) the loss and its
      // gradient G_i w.r.t. the predicted weights W_i, then one backward pass through the GHN
      // of Σ_i ⟨G_i, W_i(θ)⟩, whose gradient is exactly that of the mean loss.
      const preds = this.ghn.predict(graphs);
      const losses: tf.Scalar[] = [];
      const hits: tf.Scalar[] = [];
      const G: Weights[] = preds.map((pred, i) => {
        const arch = archs[i]!;
        const names = Object.keys(pred.weights);
        const fixed = missingWeights(arch, pred.missing, seed);
        const out = tf.tidy(() => {
          let correct: tf.Scalar | null = null;
          const f = (...ws: tf.Tensor[]) => {
            const weights: Weights = { ...fixed };
            names.forEach((n, j) => (weights[n] = ws[j]!));
            const logits = arch.net.forward(netInput(arch.net, batch.x), weights, { training: true, rng });
            correct = tf.keep(countCorrect(logits, batch.y));
            return tf.div(softmaxCrossEntropy(logits, batch.y), m) as tf.Scalar;
          };
          const { value, grads } = tf.valueAndGrads(f)(names.map((n) => pred.weights[n]!));
          return { value, correct: correct!, grads: Object.fromEntries(names.map((n, j) => [n, grads[j]!])) } as unknown as tf.TensorContainer;
        }) as unknown as { value: tf.Scalar; correct: tf.Scalar; grads: Weights };
        losses.push(out.value);
        hits.push(out.correct);
        return out.grads;
      });
      for (const p of preds) tf.dispose(Object.values(p.weights));
      const { grads } = tf.variableGrads(() => {
        const again = this.ghn.predict(graphs);
        const terms = again.flatMap((p, i) => Object.entries(G[i]!).map(([n, g]) => tf.sum(tf.mul(p.weights[n]!, g))));
        return tf.addN(terms) as tf.Scalar;
      }, this.vars);
      const value = tf.addN(losses) as tf.Scalar;
      const correct = tf.addN(hits) as tf.Scalar;
      tf.dispose(hits); // kept inside the tapes' scopes: freed by hand
      const g = this.vars.map((v) => grads[v.name] ?? null);
      const present = g.filter((t): t is tf.Tensor => t !== null);
      const norm = tf.sqrt(tf.addN(present.map((t) => tf.sum(tf.square(t)))));
      // clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is below 1
      const scaled = gradClip === null ? g : (() => {
        const coef = tf.minimum(tf.div(gradClip, tf.add(norm, 1e-6)), 1);
        return g.map((t) => (t === null ? null : tf.mul(t, coef)));
      })();
      const stats = tf.stack([value, norm, correct]) as tf.Tensor1D;
      return { grads: scaled, stats } as unknown as tf.TensorContainer;
    }) as unknown as { grads: (tf.Tensor | null)[]; stats: tf.Tensor1D };
  }

  private async save(p: Progress): Promise<void> {
    const path = this.checkpointPath!;
    await saveCheckpoint(path, {
      tensors: { ...this.ghn.ownWeights(), ...this.adam.slots(this.names) },
      meta: { step: p.step, config: (this.config.fingerprint ?? null) as never, ghnConfig: { ...this.ghn.config }, ghnTrainer: { ...p } },
    });
    this.onEvent({ type: 'checkpoint', step: p.step, path });
  }

  /** Loads the checkpoint (null when there is none yet), checks that it belongs to this run and GHN, then restores. */
  private async restore(): Promise<Progress | null> {
    const path = this.checkpointPath;
    if (!path) throw new ConfigError('resume', 'needs checkpointDir');
    const ck = await loadCheckpointIfAny(path);
    if (!ck) return null; // nothing saved yet: start from the beginning
    try {
      const parsed = ghnMetaSchema.safeParse(ck.meta);
      if (!parsed.success) throw new CheckpointError(ck.paths.meta, `is not a GHN meta-training checkpoint (${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message})`);
      const meta = parsed.data;
      assertSameRunConfig(ck.paths.meta, this.config.fingerprint, meta.config);
      // the GHN's init seed does not matter: every variable is overwritten
      const ghnWant = JSON.stringify({ ...this.ghn.config, seed: undefined });
      const ghnHave = JSON.stringify({ ...(meta.ghnConfig as object), seed: undefined });
      if (ghnWant !== ghnHave) throw new CheckpointError(ck.paths.meta, `holds a GHN with config ${ghnHave}; this GHN is ${ghnWant}`);
      const p = meta.ghnTrainer as Progress;
      if (p.step > this.config.steps) throw new CheckpointError(ck.paths.meta, `is at step ${p.step}, past this run's ${this.config.steps} steps`);
      // names, shapes and dtypes of every GHN variable and Adam moment are checked before any is assigned
      restoreVariables(ck, { ...(this.ghn.ownWeights() as Record<string, tf.Variable>), ...this.adam.slots(this.names) });
      this.adam.t = p.adamStep;
      this.onEvent({ type: 'resume', step: p.step, path });
      return { ...p, curve: [...p.curve], seen: [...p.seen] };
    } finally {
      ck.dispose();
    }
  }

  dispose(): void {
    this.adam.dispose();
  }
}

// ---------------------------------------------------------------------------------------
// evaluation

export interface EvaluateArchsOptions {
  /** Test images per forward pass (BN nets normalise with the statistics of each such batch). Default 100. */
  batchSize?: number;
  /** Use only the first n test samples. Default: all. */
  testSamples?: number;
  /** Also fine-tune each net for this many steps, from the predicted parameters and from its own random init. Default 0. */
  fineTuneSteps?: number;
  /** Fine-tuning optimiser. Default 'adam'. */
  optimizer?: 'adam' | 'sgd';
  /** Fine-tuning learning rate. Default 1e-3 (Adam), 1e-2 (SGD). */
  lr?: number;
  /** Fine-tuning batch size. Default 64. */
  fineTuneBatchSize?: number;
  /** Seeds the random inits, unpredicted parameters and the fine-tuning batch order. Default 0. */
  seed?: number;
  /** After each architecture. */
  onArch?: (e: ArchEvaluation, index: number, total: number) => void;
}

export interface ArchEvaluation {
  id: string | number;
  name: string;
  numParams: number;
  /** ParamSpecs the GHN did not predict (seeded init). */
  missing: string[];
  /** Test accuracy of the predicted parameters, no training. */
  accuracy: number;
  /** Test accuracy of the net's own random init, no training (the chance baseline). */
  randomInit: number;
  /** With fineTuneSteps: test accuracy after that many steps from each starting point (same batches for both). */
  fineTuned?: { steps: number; predicted: number; random: number };
}

export interface ArchsEvaluation {
  archs: ArchEvaluation[];
  meanAccuracy: number;
  meanRandomInit: number;
  meanFineTuned?: { steps: number; predicted: number; random: number };
}

async function testAccuracy(net: TargetNet, weights: Weights, test: DataSplit, batchSize: number, limit: number): Promise<number> {
  const training = usesBatchNorm(net);
  let correct = tf.scalar(0);
  let n = 0;
  for (const b of test.batches(batchSize)) {
    if (n >= limit) {
      disposeBatch(b);
      break;
    }
    const take = Math.min(b.size, limit - n);
    const next = tf.tidy(() => {
      const x = take < b.size ? tf.slice(b.x, [0, 0], [take, -1]) : b.x;
      const y = take < b.size ? tf.slice(b.y, [0], [take]) : b.y;
      return tf.add(correct, countCorrect(net.forward(netInput(net, x), weights, { training }), y));
    });
    correct.dispose();
    correct = next as tf.Scalar;
    n += take;
    disposeBatch(b);
  }
  const c = (await correct.data())[0]!;
  correct.dispose();
  return c / n;
}

/** Trains copies of `start` for `steps` steps (training mode) and returns the test accuracy; `start` is left as it was. */
async function fineTune(net: TargetNet, start: Weights, train: DataSplit, test: DataSplit, o: Required<Omit<EvaluateArchsOptions, 'onArch' | 'testSamples'>> & { testSamples: number }): Promise<number> {
  const vars = net.params.map((p) => tf.variable(start[p.name]!, true)); // shares start's data; assign() leaves start as it was
  const weights: Weights = Object.fromEntries(net.params.map((p, i) => [p.name, vars[i]!]));
  const adam = o.optimizer === 'adam' ? new Adam(vars) : null;
  const sampler = train.sampler(o.fineTuneBatchSize, dataSeed(o.seed));
  const rng = new Rng(archSeed(o.seed, 'dropout'));
  try {
    for (let s = 0; s < o.fineTuneSteps; s++) {
      const b = sampler.next();
      const stepRng = rng.fork();
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => softmaxCrossEntropy(net.forward(netInput(net, b.x), weights, { training: true, rng: stepRng }), b.y), vars);
        const g = vars.map((v) => grads[v.name] ?? null);
        if (adam) adam.step(g, o.lr);
        else vars.forEach((v, i) => g[i] && v.assign(tf.sub(v, tf.mul(g[i]!, o.lr))));
      });
      disposeBatch(b);
    }
    return await testAccuracy(net, weights, test, o.batchSize, o.testSamples);
  } finally {
    adam?.dispose();
    tf.dispose(vars);
  }
}

/**
 * Test accuracy of the parameters `ghn` predicts for each architecture, with no training
 * (batch-norm nets with batch statistics of each test batch, as ppuda's eval_ghn.py), next to
 * the net's own random init. With `fineTuneSteps`, also the accuracy after that many steps of
 * Adam (or SGD) on the target weights from the predicted parameters and from the random init,
 * on the same batches in the same order. `data.train` is needed for fine-tuning.
 */
export async function evaluateArchs(ghn: GHN2, archs: readonly ArchSample[], data: { test: DataSplit; train?: DataSplit }, options: EvaluateArchsOptions = {}): Promise<ArchsEvaluation> {
  const opt = z
    .object({
      batchSize: posInt.default(100),
      testSamples: posInt.optional(),
      fineTuneSteps: z.number().int().nonnegative().default(0),
      optimizer: z.enum(['adam', 'sgd']).default('adam'),
      lr: z.number().positive().finite().optional(),
      fineTuneBatchSize: posInt.default(64),
      seed: z.number().int().nonnegative().default(0),
      onArch: z.function().optional(),
    })
    .strict()
    .safeParse(options);
  if (!opt.success) {
    const issue = opt.error.issues[0]!;
    throw new ConfigError(issue.path.join('.') || 'options', issue.message);
  }
  const o = { ...opt.data, lr: opt.data.lr ?? (opt.data.optimizer === 'adam' ? 1e-3 : 1e-2), testSamples: Math.min(opt.data.testSamples ?? data.test.size, data.test.size) };
  if (o.fineTuneSteps > 0 && !data.train) throw new ConfigError('data.train', 'fine-tuning needs a training split');
  const results: ArchEvaluation[] = [];
  for (const [i, arch] of archs.entries()) {
    const [pred] = ghn.predict([arch.graph]);
    const missing = [...pred!.missing];
    const predicted: Weights = { ...pred!.weights, ...missingWeights(arch, missing, o.seed) };
    const random = initWeights(arch.net.params, new Rng(archSeed(o.seed ^ 0x2545f491, arch.id)));
    try {
      const r: ArchEvaluation = {
        id: arch.id,
        name: arch.net.name,
        numParams: countParams(arch.net.params),
        missing,
        accuracy: await testAccuracy(arch.net, predicted, data.test, o.batchSize, o.testSamples),
        randomInit: await testAccuracy(arch.net, random, data.test, o.batchSize, o.testSamples),
      };
      if (o.fineTuneSteps > 0)
        r.fineTuned = { steps: o.fineTuneSteps, predicted: await fineTune(arch.net, predicted, data.train!, data.test, o), random: await fineTune(arch.net, random, data.train!, data.test, o) };
      results.push(r);
      options.onArch?.(r, i, archs.length);
    } finally {
      tf.dispose([...Object.values(predicted), ...Object.values(random)]);
    }
  }
  const mean = (f: (r: ArchEvaluation) => number) => (results.length ? results.reduce((s, r) => s + f(r), 0) / results.length : NaN);
  return {
    archs: results,
    meanAccuracy: mean((r) => r.accuracy),
    meanRandomInit: mean((r) => r.randomInit),
    ...(o.fineTuneSteps > 0 ? { meanFineTuned: { steps: o.fineTuneSteps, predicted: mean((r) => r.fineTuned!.predicted), random: mean((r) => r.fineTuned!.random) } } : {}),
  };
}

import * as tf from '@tensorflow/tfjs-core';
import {
  Adam,
  CheckpointError,
  ConfigError,
  Rng,
  TrainingError,
  countCorrect,
  restoreVariables,
  softmaxCrossEntropy,
  tidy,
  type RunOptions,
  type Trainer,
  type Weights,
  clipByGlobalNorm,
} from '@hypernets/core';
import { RunCheckpoint, eventEmitter, runSteps } from '@hypernets/core/internal';
import { disposeBatch, type Batch, type DataSplit } from '@hypernets/data';
import type { GHN2 } from '../ghn2.js';
import { dataSeed, missingWeights, netInput, type ArchSample, type ArchSource } from './arch.js';
import { multiStepLr, resolveOptions, type GhnTrainerOptions, type Resolved } from './config.js';
import { GHN_EVENT_TYPES, progressSchema, type GhnTrainEvent, type GhnTrainResult, type Progress } from './events.js';

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
export class GhnTrainer implements Trainer<GhnTrainResult, RunOptions & { until?: number }> {
  readonly ghn: GHN2;
  readonly source: ArchSource;
  readonly train: DataSplit;
  /** The hyperparameters, defaults filled in. */
  readonly config: Resolved;
  private readonly vars: tf.Variable[];
  private readonly names: string[];
  private readonly adam: Adam;
  private readonly emit: (e: GhnTrainEvent) => Promise<void>;
  private readonly checkpoint: RunCheckpoint<Progress>;
  private progress: Progress | null = null;

  constructor(options: GhnTrainerOptions) {
    const { config, ghn, source, train, callbacks } = resolveOptions(options);
    this.config = config;
    this.ghn = ghn;
    this.source = source;
    this.train = train;
    this.emit = eventEmitter(GHN_EVENT_TYPES, callbacks);
    if (config.batchSize > train.size)
      throw new ConfigError(
        'batchSize',
        `${config.batchSize} is larger than the training split (${train.size} samples)`,
      );
    this.names = ghn.params.map((p) => p.name);
    this.vars = ghn.trainableVariables();
    this.adam = new Adam(this.vars, { weightDecay: config.weightDecay });
    this.checkpoint = new RunCheckpoint({
      dir: config.checkpointDir,
      kind: 'ghnTrainer',
      what: 'GHN meta-training',
      progress: progressSchema,
      fingerprint: config.fingerprint,
    });
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
    let p: Progress = this.progress ?? {
      step: 0,
      skipped: 0,
      seconds: 0,
      rng: new Rng(c.seed).getState(),
      sampler: null,
      adamStep: 0,
      seen: [],
      curve: [],
    };
    if (options.resume) p = (await this.restore()) ?? p;
    const rng = new Rng(p.rng);
    const sampler = this.train.sampler(c.batchSize, p.sampler ?? dataSeed(c.seed));
    const seen = new Set<string | number>(p.seen);
    const t0 = performance.now();
    const prior = p.seconds;
    let window = performance.now();
    let windowSteps = 0;
    const snapshot = (step: number): Progress => ({
      ...p,
      step,
      rng: rng.getState(),
      sampler: sampler.getState(),
      adamStep: this.adam.t,
      seen: [...seen],
      seconds: prior + (performance.now() - t0) / 1000,
    });
    const step = await runSteps(
      {
        from: p.step,
        to: until,
        logEvery: c.logEvery,
        checkpointEvery: this.checkpoint.path ? (c.checkpointEvery ?? null) : null,
        checkpointLast: this.checkpoint.path !== null,
      },
      {
        step: async (step, log) => {
          const lr = multiStepLr(c.lr, c.lrMilestones, c.gamma, step - 1);
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
          windowSteps++;
          if (!finite) {
            p.skipped++;
            await this.emit({ type: 'skip', step, loss: loss!, gradNorm: gradNorm!, skipped: p.skipped });
            if (p.skipped > c.maxSkips)
              throw new TrainingError(
                `the loss or its gradients were not finite in ${p.skipped} steps (last: step ${step}, loss ${loss}, ` +
                  `gradient norm ${gradNorm}); lower the learning rate or resume from the last checkpoint with another seed`,
              );
          }
          if (log) {
            const accuracy = correct! / (c.archsPerStep * c.batchSize);
            p.curve.push({ step, loss: loss!, accuracy, lr });
            const now = performance.now();
            await this.emit({
              type: 'step',
              step,
              steps: c.steps,
              loss: loss!,
              accuracy,
              lr,
              archsPerSecond: (windowSteps * c.archsPerStep * 1000) / Math.max(now - window, 1e-3),
              skipped: p.skipped,
            });
            window = now;
            windowSteps = 0;
          }
        },
        checkpoint: async (step) => {
          p = snapshot(step);
          await this.save(p);
        },
      },
    );
    p = snapshot(step);
    this.progress = p;
    return { step, skipped: p.skipped, seconds: p.seconds, archsSeen: seen.size, curve: [...p.curve] };
  }

  /**
   * One meta-training step's forward and backward pass: the gradients of the mean
   * cross-entropy w.r.t. the GHN's variables (clipped; null where a variable got none), and
   * [loss, global gradient norm before clipping, correct predictions over all nets] as one
   * tensor (one read-back per step).
   */
  step(
    archs: readonly ArchSample[],
    batch: Batch,
    rng: Rng = new Rng(0),
  ): { grads: (tf.Tensor | null)[]; stats: tf.Tensor1D } {
    const { seed, gradClip } = this.config;
    const m = archs.length;
    const graphs = archs.map((a) => a.graph);
    return tidy(() => {
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
        const out = tidy(() => {
          let correct: tf.Scalar | null = null;
          const f = (...ws: tf.Tensor[]) => {
            const weights: Weights = { ...fixed };
            names.forEach((n, j) => (weights[n] = ws[j]!));
            const logits = arch.net.forward(netInput(arch.net, batch.x), weights, { training: true, rng });
            correct = tf.keep(countCorrect(logits, batch.y));
            return tf.div(softmaxCrossEntropy(logits, batch.y), m) as tf.Scalar;
          };
          const { value, grads } = tf.valueAndGrads(f)(names.map((n) => pred.weights[n]!));
          return {
            value,
            correct: correct!,
            grads: Object.fromEntries(names.map((n, j) => [n, grads[j]!])) as Weights,
          };
        });
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
      // clip_grad_norm_ (no clipping: an infinite bound; the norm before clipping is reported either way)
      const { grads: scaled, norm } = clipByGlobalNorm(g, gradClip ?? Infinity);
      const stats = tf.stack([value, norm, correct]) as tf.Tensor1D;
      return { grads: scaled, stats };
    });
  }

  private async save(p: Progress): Promise<void> {
    const path = await this.checkpoint.save({
      step: p.step,
      progress: p,
      tensors: { ...this.ghn.ownWeights(), ...this.adam.slots(this.names) },
      meta: { ghnConfig: { ...this.ghn.config } },
    });
    await this.emit({ type: 'checkpoint', step: p.step, path });
  }

  /** Loads the checkpoint (null when there is none yet), checks that it belongs to this run and GHN, then restores. */
  private async restore(): Promise<Progress | null> {
    const p = await this.checkpoint.restore((ck, p) => {
      // the GHN's init seed does not matter: every variable is overwritten
      const ghnWant = JSON.stringify({ ...this.ghn.config, seed: undefined });
      const ghnHave = JSON.stringify({ ...(ck.meta.ghnConfig as object), seed: undefined });
      if (ghnWant !== ghnHave)
        throw new CheckpointError(ck.paths.meta, `holds a GHN with config ${ghnHave}; this GHN is ${ghnWant}`);
      if (p.step > this.config.steps)
        throw new CheckpointError(ck.paths.meta, `is at step ${p.step}, past this run's ${this.config.steps} steps`);
      // names, shapes and dtypes of every GHN variable and Adam moment are checked before any is assigned
      restoreVariables(ck, {
        ...(this.ghn.ownWeights() as Record<string, tf.Variable>),
        ...this.adam.slots(this.names),
      });
      this.adam.t = p.adamStep;
    });
    if (p) await this.emit({ type: 'resume', step: p.step, path: this.checkpoint.path! });
    return p;
  }

  dispose(): void {
    this.adam.dispose();
  }
}

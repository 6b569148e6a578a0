import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, linear } from '@hypernets/core';
import { HyperAdapters, type HyperAdapterOptions } from './hyperformer.js';
import type { AuxiliaryLoss, MethodContext } from './method.js';

/**
 * PHA, the prototype-based hyperadapter (Zhao, Fu & He, EMNLP 2023; Bumble666/PHA):
 *
 *   adapters       generated as HyperFormer++'s from [k_τ; e_layer; e_block], where the task
 *                  embedding k_τ is task τ's prototype (the 'pha' variant of HyperAdapters:
 *                  ReLU adapters, no conditional norm, hyperfanin generator init);
 *   retriever      z_i = W₂·ReLU(W₁·x_i + b₁) + b₂, x_i the frozen backbone's sentence embedding
 *                  of instance i (PHA's `mlp` over mean-pooled encoder states: D → 128 → 64);
 *   L = CE + λ·(L_ins + L_pro),  λ = 0.1, τ = 0.1, on ẑ = z/‖z‖ and k̂ = k/‖k‖:
 *   L_ins (instance–instance InfoNCE, supervised): for each anchor i with positives P(i) (other
 *     instances of its task), −(1/|P(i)|) Σ_{p∈P(i)} log( exp(ẑ_i·ẑ_p/τ) / Σ_{j≠i} exp(ẑ_i·ẑ_j/τ) ),
 *     averaged over anchors that have positives;
 *   L_pro (prototype–instance): −mean_i log( exp(ẑ_i·k̂_{t_i}/τ) / Σ_{k≠t_i} exp(ẑ_i·k̂_k/τ) ) (the
 *     reference code's denominator leaves the positive prototype out; so does this).
 *
 * The contrastive terms need instances of several tasks at once: the trainer draws `perTask`
 * examples of every task each step (its batches hold one task) and passes their frozen
 * embeddings to `auxiliary.loss`. A new task gets the prototype `retrieve` picks: the learned
 * prototype most similar (cosine) to the mean retriever embedding of its few examples, which
 * then trains alone with the new task's head (`fewShotTransfer`).
 */
export interface PhaOptions extends HyperAdapterOptions {
  /** Retriever hidden width. Default 128 (PHA's). The output is `embeddingDim`, the prototypes'. */
  retrieverHidden?: number;
  /** Contrastive temperature τ. Default 0.1. */
  contrastTemperature?: number;
  /** Weight λ of each contrastive term. Default 0.1. */
  contrastWeight?: number;
  /** Instances of every task drawn per step for the contrastive terms. Default 8. */
  contrastPerTask?: number;
}

export class PrototypeHyperAdapters extends HyperAdapters implements AuxiliaryLoss {
  readonly temperature: number;
  readonly weight: number;
  readonly perTask: number;
  readonly auxiliary: AuxiliaryLoss = this;

  constructor(ctx: MethodContext, options: PhaOptions = {}) {
    super('pha', ctx, options);
    const hidden = options.retrieverHidden ?? 128;
    const out = options.embeddingDim ?? 64;
    this.temperature = options.contrastTemperature ?? 0.1;
    this.weight = options.contrastWeight ?? 0.1;
    this.perTask = options.contrastPerTask ?? 8;
    if (!Number.isInteger(hidden) || hidden < 1)
      throw new ConfigError('retrieverHidden', `must be a positive integer, got ${hidden}`);
    if (!(this.temperature > 0)) throw new ConfigError('contrastTemperature', `must be > 0, got ${this.temperature}`);
    if (!(this.weight >= 0)) throw new ConfigError('contrastWeight', `must be ≥ 0, got ${this.weight}`);
    if (!Number.isInteger(this.perTask) || this.perTask < 2)
      throw new ConfigError(
        'contrastPerTask',
        `must be an integer ≥ 2 (an instance needs a positive), got ${this.perTask}`,
      );
    const d = ctx.backbone.net.outputShape[0]!;
    // torch.nn.Linear's init: U(±1/√fan-in) for weights and biases
    const lin = (name: string, fanIn: number, fanOut: number) => {
      const k = 1 / Math.sqrt(fanIn);
      for (const [suffix, shape] of [
        ['weight', [fanIn, fanOut]],
        ['bias', [fanOut]],
      ] as const) {
        const init = tf.randomUniform([...shape], -k, k, 'float32', ctx.rng.seed());
        this.shared[`retriever.${name}.${suffix}`] = tf.variable(init, true);
        init.dispose();
      }
    };
    lin('fc1', d, hidden);
    lin('fc2', hidden, out);
  }

  /** The retriever's embedding z of frozen sentence embeddings x [N, D]: [N, embeddingDim]. */
  embed(x: tf.Tensor2D): tf.Tensor2D {
    const w = (n: string) => this.shared[`retriever.${n}`]!;
    return tf.tidy(
      () => linear(tf.relu(linear(x, w('fc1.weight'), w('fc1.bias'))), w('fc2.weight'), w('fc2.bias')) as tf.Tensor2D,
    );
  }

  /** λ·(L_ins + L_pro) for instances with frozen embeddings `x` [N, D] of tasks `tasks` (call inside the tape). */
  loss(x: tf.Tensor2D, tasks: readonly number[]): tf.Scalar {
    if (tasks.length !== x.shape[0])
      throw new ConfigError('tasks', `gives ${tasks.length} task ids for ${x.shape[0]} instances`);
    return tf.tidy(() => {
      const z = unit(this.embed(x));
      // prototypes (and positives) are per family: the task-embedding rows
      const t = tf.tensor1d(
        tasks.map((x) => this.families[x]!),
        'int32',
      );
      return tf.mul(tf.add(this.instanceLoss(z, t), this.prototypeLoss(z, t)), this.weight) as tf.Scalar;
    });
  }

  private instanceLoss(z: tf.Tensor2D, t: tf.Tensor1D): tf.Scalar {
    const n = z.shape[0];
    const logits = tf.div(tf.matMul(z, z, false, true), this.temperature);
    const self = tf.eye(n);
    const same = tf.cast(tf.equal(tf.expandDims(t, 1), tf.expandDims(t, 0)), 'float32');
    const positives = tf.sub(same, self);
    // log Σ_{j≠i} exp(l_ij), stably: the diagonal pushed to −∞ before the logsumexp
    const denom = tf.logSumExp(tf.add(logits, tf.mul(self, -1e9)), 1, true);
    const logProb = tf.sub(logits, denom);
    const count = tf.sum(positives, 1);
    const has = tf.cast(tf.greater(count, 0), 'float32');
    const perAnchor = tf.div(tf.sum(tf.mul(logProb, positives), 1), tf.maximum(count, 1));
    return tf.neg(tf.div(tf.sum(tf.mul(perAnchor, has)), tf.maximum(tf.sum(has), 1))) as tf.Scalar;
  }

  private prototypeLoss(z: tf.Tensor2D, t: tf.Tensor1D): tf.Scalar {
    const k = unit(this.shared['hyper.task_embeddings'] as unknown as tf.Tensor2D);
    const logits = tf.div(tf.matMul(z, k, false, true), this.temperature); // [N, T]
    const own = tf.oneHot(t, k.shape[0]);
    const pos = tf.sum(tf.mul(logits, own), 1);
    const denom = tf.logSumExp(tf.add(logits, tf.mul(own, -1e9)), 1);
    return tf.neg(tf.mean(tf.sub(pos, denom))) as tf.Scalar;
  }

  /**
   * The learned prototype nearest (cosine) to the mean retriever embedding of a new task's
   * instances, given their frozen embeddings `x` [N, D]: its task index and every prototype's similarity.
   */
  async retrieve(x: tf.Tensor2D): Promise<{ task: number; similarities: number[] }> {
    const sims = tf.tidy(() => {
      const centre = unit(tf.mean(unit(this.embed(x)), 0, true) as tf.Tensor2D);
      return tf.squeeze(
        tf.matMul(centre, unit(this.shared['hyper.task_embeddings'] as unknown as tf.Tensor2D), false, true),
      );
    });
    const similarities = Array.from(await sims.data());
    sims.dispose();
    return { task: similarities.indexOf(Math.max(...similarities)), similarities };
  }
}

/** Rows scaled to unit L2 norm (torch's F.normalize, ε 1e-12). */
function unit(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', 1, true), 1e-12)) as tf.Tensor2D);
}

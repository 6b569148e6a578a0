import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  linear,
  paramSpec,
  activate,
  type Activation,
  type FeedForwardSublayer,
  type ForwardOptions,
  type ParamSpec,
  type StagedForward,
} from '@hypernets/core';
import { dispatchPlan, pairOps } from './dispatch.js';

export interface MoeFeedForwardConfig {
  /** Experts E. */
  experts: number;
  /** Hidden width of each expert's two-layer MLP. */
  hidden: number;
  /** Experts per token k (1 ≤ k ≤ E); `topK` can be changed between forwards. */
  topK: number;
  /** Between the expert's two layers. Default 'relu' (HyperRouter's FastMoE experts). */
  activation?: Activation;
  /**
   * Weight of the load-balancing loss E·Σₑ fₑ·P̄ₑ (fₑ the share of routed pairs that went to
   * expert e, P̄ₑ its mean router probability), pushed to `options.auxLosses` in training.
   * Default 0 (none, as in HyperRouter's and SMoE-Dropout's runs).
   */
  loadBalance?: number;
}

/** Per-layer routing statistics read with each forward (see `MoeFeedForward.stats`). */
export interface RoutingStats {
  /** Routed (token, slot) pairs per expert. */
  readonly counts: Int32Array;
  /** Sum over tokens of the entropy (nats) of the router's softmax over all E experts. */
  readonly entropySum: number;
  readonly tokens: number;
}

/**
 * A sparse mixture-of-experts feed-forward sublayer (for core's TransformerEncoder, or any
 * TargetNet that hosts a FeedForwardSublayer): router logits z = x·W_r + b_r over E experts;
 * each token goes to its top-k experts, weighted by the softmax over those k logits; each expert
 * is a two-layer MLP. Capacity-free: the top-k ids are read on the host (a `HostRead`), the
 * (token, slot) pairs sorted by expert, and each expert runs densely on its block (gather →
 * MLP → gather back), which trains on every backend. With k = E it is the dense softmax mixture.
 *
 * Weights under the block's prefix: `router.weight` [d, E], `router.bias` [E],
 * `experts.fc1.weight` [E, d, h], `experts.fc1.bias` [E, h], `experts.fc2.weight` [E, h, d],
 * `experts.fc2.bias` [E, d]. Per-sample weights are refused.
 */
export class MoeFeedForward implements FeedForwardSublayer {
  readonly experts: number;
  readonly hidden: number;
  readonly activation: Activation;
  readonly loadBalance: number;
  #topK: number;

  constructor(config: MoeFeedForwardConfig) {
    const int = (field: string, v: unknown, min: number) => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min)
        throw new ConfigError(field, `must be an integer ≥ ${min}, got ${String(v)}`);
      return v;
    };
    this.experts = int('experts', config.experts, 1);
    this.hidden = int('hidden', config.hidden, 1);
    this.activation = config.activation ?? 'relu';
    const lb = config.loadBalance ?? 0;
    if (typeof lb !== 'number' || !(lb >= 0)) throw new ConfigError('loadBalance', `must be ≥ 0, got ${String(lb)}`);
    this.loadBalance = lb;
    this.#topK = this.checkK(config.topK);
  }

  /** Experts per token; settable between forwards (e.g. evaluating at k = 1, 2, 4, 8, E). */
  get topK(): number {
    return this.#topK;
  }

  set topK(k: number) {
    this.#topK = this.checkK(k);
  }

  private checkK(k: unknown): number {
    if (typeof k !== 'number' || !Number.isSafeInteger(k) || k < 1 || k > this.experts)
      throw new ConfigError('topK', `must be an integer in [1, ${this.experts}] (the experts), got ${String(k)}`);
    return k;
  }

  specs(prefix: string, d: number, layer: number): ParamSpec[] {
    const e = this.experts;
    const h = this.hidden;
    const spec = (name: string, shape: number[], kind: ParamSpec['kind'], l: number, fanIn: number, fanOut: number) =>
      paramSpec({ name: `${prefix}.${name}`, shape, kind, layer: l, fanIn, fanOut });
    return [
      spec('router.weight', [d, e], 'weight', layer, d, e),
      spec('router.bias', [e], 'bias', layer, d, e),
      spec('experts.fc1.weight', [e, d, h], 'weight', layer + 1, d, h),
      spec('experts.fc1.bias', [e, h], 'bias', layer + 1, d, h),
      spec('experts.fc2.weight', [e, h, d], 'weight', layer + 2, h, d),
      spec('experts.fc2.bias', [e, d], 'bias', layer + 2, h, d),
    ];
  }

  *forward(
    x: tf.Tensor,
    weight: (name: string) => tf.Tensor,
    prefix: string,
    options: ForwardOptions,
    perSample: boolean,
  ): StagedForward {
    if (perSample)
      throw new ConfigError(
        prefix,
        'a mixture-of-experts sublayer takes shared weights only (per-sample expert weights are not supported)',
      );
    const shape = x.shape;
    const d = shape[shape.length - 1]!;
    const m = x.size / d;
    const e = this.experts;
    const k = this.#topK;
    const xf = tf.reshape(x, [m, d]);
    const logits = linear(xf, weight(`${prefix}.router.weight`), weight(`${prefix}.router.bias`)); // [M, E]
    const [ids, entropy] = yield {
      site: prefix,
      read: () =>
        tf.tidy(() => {
          const logp = tf.logSoftmax(logits);
          return [tf.topk(logits, k).indices, tf.neg(tf.sum(tf.mul(tf.exp(logp), logp)))];
        }),
    };
    const plan = dispatchPlan(ids as Int32Array, m, k, e);
    const pairs = pairOps(plan);
    this.lastStats = { counts: plan.counts, entropySum: entropy![0]!, tokens: m };
    // Gates: softmax over the k kept logits (FastMoE's NaiveGate), differentiable through the gather.
    const gates = tf.softmax(
      tf.reshape(tf.gather(tf.reshape(logits, [m * e]), tf.tensor1d(plan.logitIndex, 'int32')), [m, k]),
    );
    // In sorted order, each pair's gate: expert blocks are weighted before they are summed back.
    const sortedGates = tf.reshape(tf.gather(tf.reshape(gates, [m * k]), tf.tensor1d(plan.pairs, 'int32')), [m * k, 1]);
    // One split per tensor (its gradient is one concat), not a slice per expert (a full-size pad each).
    const perExpert = (name: string) =>
      tf.split(weight(`${prefix}.${name}`), e, 0).map((t) => tf.reshape(t, t.shape.slice(1)));
    const w1 = perExpert('experts.fc1.weight');
    const b1 = perExpert('experts.fc1.bias');
    const w2 = perExpert('experts.fc2.weight');
    const b2 = perExpert('experts.fc2.bias');
    const active = Array.from(plan.counts.keys()).filter((j) => plan.counts[j]! > 0);
    const sizes = active.map((j) => plan.counts[j]!);
    const gateBlocks = active.length === 1 ? [sortedGates] : tf.split(sortedGates, sizes, 0);
    // Inputs grouped by expert; an expert that every token chose sees them in token order (the sort is stable): no gather.
    const needGather = active.some((j) => plan.counts[j]! !== m);
    const xBlocks = needGather
      ? active.length === 1
        ? [pairs.spread(xf)]
        : tf.split(pairs.spread(xf), sizes, 0)
      : active.map(() => xf);
    const blocks = active.map((j, i) => {
      const yj = linear(activate(linear(xBlocks[i]!, w1[j]!, b1[j]!), this.activation), w2[j]!, b2[j]!);
      return tf.mul(yj, gateBlocks[i]!);
    });
    const ys = blocks.length === 1 ? blocks[0]! : tf.concat(blocks, 0); // [M·k, d], gated
    // Each token's k gated outputs summed back into its row (spread's adjoint; its gradient is a spread).
    const y = pairs.collect(ys);
    if (this.loadBalance > 0 && options.training === true && options.auxLosses) {
      const share = tf.tensor1d(Float32Array.from(plan.counts, (c) => c / (m * k)));
      const meanProb = tf.mean(tf.softmax(logits), 0);
      options.auxLosses.push(tf.keep(tf.mul(this.loadBalance * e, tf.sum(tf.mul(share, meanProb)))));
    }
    return tf.reshape(y, shape);
  }

  /** The routing of the last forward that read its ids (recorded or replayed). */
  lastStats: RoutingStats | null = null;
}

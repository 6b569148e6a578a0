import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, MLP, Rng, ShapeMismatchError, linear, type Weights } from '@hypernets/core';
import { orthogonalArray } from '../ppo/orthogonal.js';

/**
 * HyperZero (Rezaei-Shoshtari et al., AAAI 2023; SAIC-MONTREAL/hyperzero) and its
 * context-conditioned MLP baseline, as the reference's `models/hypenet_core.py` and
 * `models/rl_regressor.py` build them:
 *
 * - **Meta embedding** (`Meta_Embadding`): context ψ → z through Linear(ψ, z/4), two residual
 *   blocks, Linear(z/4, z/2), two blocks, Linear(z/2, z), two blocks; a block is
 *   x + Linear(ReLU(Linear(ReLU(x)))). Weights U(±1/(2√fan-in)), biases torch's default
 *   U(±1/√fan-in).
 * - **HyperZero** (`HyperRLSolution` → `DoubleHeadedHyperNetwork`, or `HyperPolicy` without the
 *   Q-function): from the one z, a head per generated layer (Linear(z, in·out) for the weight,
 *   Linear(z, out) for the bias; weights U(±0.05) for the first layer's head, U(±0.008) for the
 *   last's, head biases 0) generates a policy s → h → a (ReLU, tanh output) and a Q-function
 *   [s, a] → h → 1 (ReLU, linear output). Every weight of both target nets is generated.
 * - **ContextMlp** (`MLPRLSolution`, or `MLPActionPredictor` without the Q-function): the same
 *   embedding, then a policy MLP on [z, s] and a Q MLP on [z, s, a]; every Linear orthogonal
 *   (gain 1) with zero bias (the reference applies `utils.weight_init` to the whole module,
 *   embedding included).
 *
 * The generated nets run on core's functional `MLP` with per-sample weight records: `prepare`
 * computes what depends on the context once per distinct context ([C, …]), and `act`/`q` gather
 * it per sample by a context index (one context per sample, one batched pass).
 */

export interface ZeroShotModelConfig {
  /** Size of the context ψ. */
  contextSize: number;
  observationSize: number;
  actionSize: number;
  /** The embedding z. Default 256 (the reference's `embed_dim`). */
  embedSize?: number;
  /** Hidden width of the policy and Q nets. Default 256 (the reference's `hidden_dim`). */
  hiddenSize?: number;
  /** Also model Q(s, a) (HyperZero, `mlp_rl*`); false: policy only (`hyperzero_without_q`, `mlp_policy`). Default true. */
  withQ?: boolean;
  /** Seeds the init. Default 0. */
  seed?: number;
}

export type ResolvedZeroShotModelConfig = Required<ZeroShotModelConfig>;

/** What a model computes once per distinct context (all tensors [C, …]). */
export interface PreparedContexts {
  /** Number of contexts. */
  readonly count: number;
  /** The embeddings z [C, embed]. */
  readonly z: tf.Tensor2D;
  /** HyperZero: the generated policy weights (MLP specs, leading dim C); ContextMlp: null. */
  readonly policy: Weights | null;
  /** HyperZero with Q: the generated Q weights; otherwise null. */
  readonly q: Weights | null;
}

/** A model that maps a context to a policy (and a Q-function) with no training on that context. */
export interface ZeroShotModel {
  readonly kind: 'hyperzero' | 'context-mlp';
  readonly config: Readonly<ResolvedZeroShotModelConfig>;
  /** Every trainable variable by name, in a fixed order. */
  readonly variables: Record<string, tf.Variable>;
  /** Per-context tensors for contexts [C, ψ]; free with `disposePrepared`. */
  prepare(contexts: tf.Tensor2D): PreparedContexts;
  /** π̂(s) ∈ [−1, 1] for observations [B, obs], sample i under context `index[i]`: [B, act]. */
  act(p: PreparedContexts, obs: tf.Tensor2D, index: tf.Tensor1D): tf.Tensor2D;
  /** Q̂(s, a) for observations [B, obs] and actions [B, act], sample i under context `index[i]`: [B]. */
  q(p: PreparedContexts, obs: tf.Tensor2D, actions: tf.Tensor2D, index: tf.Tensor1D): tf.Tensor1D;
  readonly parameterCount: number;
  dispose(): void;
}

export function disposePrepared(p: PreparedContexts): void {
  tf.dispose([p.z, ...Object.values(p.policy ?? {}), ...Object.values(p.q ?? {})]);
}

function resolve(config: ZeroShotModelConfig): ResolvedZeroShotModelConfig {
  const int = (name: string, v: unknown) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      throw new ConfigError(name, `must be a positive integer, got ${String(v)}`);
    return v;
  };
  const embedSize = int('embedSize', config.embedSize ?? 256);
  if (embedSize % 4 !== 0)
    throw new ConfigError('embedSize', `must be a multiple of 4 (z/4, z/2, z), got ${embedSize}`);
  const withQ = config.withQ ?? true;
  if (typeof withQ !== 'boolean') throw new ConfigError('withQ', `must be a boolean, got ${String(withQ)}`);
  return {
    contextSize: int('contextSize', config.contextSize),
    observationSize: int('observationSize', config.observationSize),
    actionSize: int('actionSize', config.actionSize),
    embedSize,
    hiddenSize: int('hiddenSize', config.hiddenSize ?? 256),
    withQ,
    seed: nonNegativeInt('seed', config.seed ?? 0),
  };
}

function nonNegativeInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new ConfigError(name, `must be a non-negative integer, got ${String(v)}`);
  return v;
}

/** A torch Linear's weight laid out [in, out] for core's `linear`. */
type LinearInit = 'meta' | 'orthogonal' | { uniform: number };

/** Creates `${name}.weight` [in, out] and `${name}.bias` [out] in `vars`. */
function addLinear(
  vars: Record<string, tf.Variable>,
  name: string,
  inSize: number,
  outSize: number,
  init: LinearInit,
  rng: Rng,
): void {
  let w: Float32Array;
  let b: Float32Array;
  if (init === 'orthogonal') {
    w = orthogonalArray(inSize, outSize, rng, 1);
    b = new Float32Array(outSize);
  } else if (init === 'meta') {
    // Meta_Embadding.init_layers: U(±1/(2√fan_in)) weights; the bias keeps torch's default U(±1/√fan_in)
    w = rng.uniformArray([inSize, outSize], -1 / (2 * Math.sqrt(inSize)), 1 / (2 * Math.sqrt(inSize)));
    b = rng.uniformArray([outSize], -1 / Math.sqrt(inSize), 1 / Math.sqrt(inSize));
  } else {
    // Head.init_layers: U(±stddev) weights, zero biases
    w = rng.uniformArray([inSize, outSize], -init.uniform, init.uniform);
    b = new Float32Array(outSize);
  }
  vars[`${name}.weight`] = tf.tidy(() => tf.variable(tf.tensor2d(w, [inSize, outSize])));
  vars[`${name}.bias`] = tf.tidy(() => tf.variable(tf.tensor1d(b)));
}

const stageNames = ['s1', 's2', 's3'];

/** The reference's Meta_Embadding: variables under `embed.`. */
function addMetaEmbedding(
  vars: Record<string, tf.Variable>,
  contextSize: number,
  z: number,
  init: 'meta' | 'orthogonal',
  rng: Rng,
): void {
  const widths = [z / 4, z / 2, z];
  let prev = contextSize;
  widths.forEach((w, i) => {
    const s = stageNames[i]!;
    addLinear(vars, `embed.${s}.in`, prev, w, init, rng);
    for (const r of ['res1', 'res2']) {
      addLinear(vars, `embed.${s}.${r}.fc1`, w, w, init, rng);
      addLinear(vars, `embed.${s}.${r}.fc2`, w, w, init, rng);
    }
    prev = w;
  });
}

function metaEmbed(vars: Record<string, tf.Variable>, contexts: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const lin = (x: tf.Tensor, name: string) => linear(x, vars[`${name}.weight`]!, vars[`${name}.bias`]!);
    let x: tf.Tensor = contexts;
    for (const s of stageNames) {
      x = lin(x, `embed.${s}.in`);
      for (const r of ['res1', 'res2']) {
        const h = lin(tf.relu(lin(tf.relu(x), `embed.${s}.${r}.fc1`)), `embed.${s}.${r}.fc2`);
        x = tf.add(x, h);
      }
    }
    return x as tf.Tensor2D;
  });
}

function checkContexts(contexts: tf.Tensor, size: number): void {
  if (contexts.rank !== 2 || contexts.shape[1] !== size)
    throw new ShapeMismatchError('contexts', [contexts.shape[0] ?? -1, size], contexts.shape, `pass [C, ${size}]`);
}

function checkRows(what: string, x: tf.Tensor, cols: number, rows?: number): void {
  if (x.rank !== 2 || x.shape[1] !== cols || (rows !== undefined && x.shape[0] !== rows))
    throw new ShapeMismatchError(what, [rows ?? x.shape[0] ?? -1, cols], x.shape);
}

function checkIndex(index: tf.Tensor, rows: number): void {
  if (index.rank !== 1 || index.shape[0] !== rows || index.dtype !== 'int32')
    throw new ShapeMismatchError('context index (int32)', [rows], index.shape);
}

function count(vars: Record<string, tf.Variable>): number {
  return Object.values(vars).reduce((n, v) => n + v.size, 0);
}

/**
 * HyperZero: a meta embedding of the context and one head per generated tensor, generating a
 * policy s → h → a (ReLU, tanh) and, `withQ`, a Q-function [s, a] → h → 1. See the file comment.
 */
export class HyperZero implements ZeroShotModel {
  readonly kind = 'hyperzero' as const;
  readonly config: Readonly<ResolvedZeroShotModelConfig>;
  readonly variables: Record<string, tf.Variable> = {};
  /** The generated policy: s → h → a, ReLU, tanh output (core's MLP; weights per sample). */
  readonly policyNet: MLP;
  /** The generated Q-function: [s, a] → h → 1, ReLU (null without Q). */
  readonly qNet: MLP | null;

  constructor(config: ZeroShotModelConfig) {
    const c = (this.config = Object.freeze(resolve(config)));
    const rng = new Rng(c.seed);
    const h = c.hiddenSize;
    this.policyNet = new MLP({
      inputSize: c.observationSize,
      hiddenSizes: [h],
      outputSize: c.actionSize,
      activation: 'relu',
      outputActivation: 'tanh',
    });
    this.qNet = c.withQ
      ? new MLP({ inputSize: c.observationSize + c.actionSize, hiddenSizes: [h], outputSize: 1, activation: 'relu' })
      : null;
    addMetaEmbedding(this.variables, c.contextSize, c.embedSize, 'meta', rng);
    const heads = (prefix: string, net: MLP) => {
      const sizes = net.sizes;
      // the reference's Head: layer1 U(±0.05), last_layer U(±0.008)
      [0.05, 0.008].forEach((std, l) => {
        addLinear(
          this.variables,
          `${prefix}.fc${l + 1}.weight.head`,
          c.embedSize,
          sizes[l]! * sizes[l + 1]!,
          { uniform: std },
          rng,
        );
        addLinear(this.variables, `${prefix}.fc${l + 1}.bias.head`, c.embedSize, sizes[l + 1]!, { uniform: std }, rng);
      });
    };
    heads('policy', this.policyNet);
    if (this.qNet) heads('q', this.qNet);
  }

  /** The weights generated from embeddings z [C, embed] for `net` (MLP spec names, leading dim C). */
  private generateFrom(z: tf.Tensor2D, prefix: string, net: MLP): Weights {
    const out: Weights = {};
    const C = z.shape[0];
    for (let l = 0; l < 2; l++) {
      const [inSize, outSize] = [net.sizes[l]!, net.sizes[l + 1]!];
      const v = (n: string) => this.variables[`${prefix}.fc${l + 1}.${n}`]!;
      out[`fc${l + 1}.weight`] = tf.tidy(() => {
        // the head's in·out outputs are torch's [out, in] (`.view(-1, out, in)`): transpose to [in, out]
        const flat = linear(z, v('weight.head.weight'), v('weight.head.bias'));
        return tf.transpose(tf.reshape(flat, [C, outSize, inSize]), [0, 2, 1]);
      });
      out[`fc${l + 1}.bias`] = linear(z, v('bias.head.weight'), v('bias.head.bias'));
    }
    return out;
  }

  prepare(contexts: tf.Tensor2D): PreparedContexts {
    checkContexts(contexts, this.config.contextSize);
    const z = metaEmbed(this.variables, contexts);
    const policy = this.generateFrom(z, 'policy', this.policyNet);
    const q = this.qNet ? this.generateFrom(z, 'q', this.qNet) : null;
    return { count: contexts.shape[0], z, policy, q };
  }

  /** The generated weights for contexts [C, ψ]: the policy's and the Q-function's (MLP specs, leading dim C). */
  generate(contexts: tf.Tensor2D): { policy: Weights; q: Weights | null } {
    const p = this.prepare(contexts);
    p.z.dispose();
    return { policy: p.policy!, q: p.q };
  }

  act(p: PreparedContexts, obs: tf.Tensor2D, index: tf.Tensor1D): tf.Tensor2D {
    checkRows('observations', obs, this.config.observationSize);
    checkIndex(index, obs.shape[0]);
    return tf.tidy(() => this.policyNet.forward(obs, gatherWeights(p.policy!, index))) as tf.Tensor2D;
  }

  q(p: PreparedContexts, obs: tf.Tensor2D, actions: tf.Tensor2D, index: tf.Tensor1D): tf.Tensor1D {
    if (!this.qNet || !p.q) throw new ConfigError('withQ', 'this HyperZero was built without a Q-function');
    checkRows('observations', obs, this.config.observationSize);
    checkRows('actions', actions, this.config.actionSize, obs.shape[0]);
    checkIndex(index, obs.shape[0]);
    return tf.tidy(() =>
      tf.reshape(this.qNet!.forward(tf.concat([obs, actions], 1), gatherWeights(p.q!, index)), [-1]),
    ) as tf.Tensor1D;
  }

  get parameterCount(): number {
    return count(this.variables);
  }

  dispose(): void {
    tf.dispose(Object.values(this.variables));
  }
}

/** Per-context weights [C, …] → per-sample weights [B, …] (sample i gets context index[i]'s). */
function gatherWeights(w: Weights, index: tf.Tensor1D): Weights {
  const out: Weights = {};
  for (const [k, v] of Object.entries(w)) out[k] = tf.gather(v, index);
  return out;
}

/**
 * The reference's context-conditioned MLP baseline: the meta embedding z of the context, then a
 * policy MLP [z, s] → h → a (ReLU, tanh) and, `withQ`, a Q MLP [z, s, a] → h → 1.
 */
export class ContextMlp implements ZeroShotModel {
  readonly kind = 'context-mlp' as const;
  readonly config: Readonly<ResolvedZeroShotModelConfig>;
  readonly variables: Record<string, tf.Variable> = {};
  readonly policyNet: MLP;
  readonly qNet: MLP | null;

  constructor(config: ZeroShotModelConfig) {
    const c = (this.config = Object.freeze(resolve(config)));
    const rng = new Rng(c.seed);
    const h = c.hiddenSize;
    addMetaEmbedding(this.variables, c.contextSize, c.embedSize, 'orthogonal', rng);
    this.policyNet = new MLP({
      inputSize: c.embedSize + c.observationSize,
      hiddenSizes: [h],
      outputSize: c.actionSize,
      activation: 'relu',
      outputActivation: 'tanh',
    });
    this.qNet = c.withQ
      ? new MLP({
          inputSize: c.embedSize + c.observationSize + c.actionSize,
          hiddenSizes: [h],
          outputSize: 1,
          activation: 'relu',
        })
      : null;
    const add = (prefix: string, net: MLP) => {
      for (let l = 0; l + 1 < net.sizes.length; l++)
        addLinear(this.variables, `${prefix}.fc${l + 1}`, net.sizes[l]!, net.sizes[l + 1]!, 'orthogonal', rng);
    };
    // the reference builds q_net before policy_net (the order of their orthogonal draws)
    if (this.qNet) add('q', this.qNet);
    add('policy', this.policyNet);
  }

  prepare(contexts: tf.Tensor2D): PreparedContexts {
    checkContexts(contexts, this.config.contextSize);
    return { count: contexts.shape[0], z: metaEmbed(this.variables, contexts), policy: null, q: null };
  }

  private weights(prefix: string): Weights {
    const out: Weights = {};
    for (const [k, v] of Object.entries(this.variables))
      if (k.startsWith(`${prefix}.`)) out[k.slice(prefix.length + 1)] = v;
    return out;
  }

  act(p: PreparedContexts, obs: tf.Tensor2D, index: tf.Tensor1D): tf.Tensor2D {
    checkRows('observations', obs, this.config.observationSize);
    checkIndex(index, obs.shape[0]);
    return tf.tidy(() =>
      this.policyNet.forward(tf.concat([tf.gather(p.z, index), obs], 1), this.weights('policy')),
    ) as tf.Tensor2D;
  }

  q(p: PreparedContexts, obs: tf.Tensor2D, actions: tf.Tensor2D, index: tf.Tensor1D): tf.Tensor1D {
    if (!this.qNet) throw new ConfigError('withQ', 'this ContextMlp was built without a Q-function');
    checkRows('observations', obs, this.config.observationSize);
    checkRows('actions', actions, this.config.actionSize, obs.shape[0]);
    checkIndex(index, obs.shape[0]);
    return tf.tidy(() =>
      tf.reshape(this.qNet!.forward(tf.concat([tf.gather(p.z, index), obs, actions], 1), this.weights('q')), [-1]),
    ) as tf.Tensor1D;
  }

  get parameterCount(): number {
    return count(this.variables);
  }

  dispose(): void {
    tf.dispose(Object.values(this.variables));
  }
}

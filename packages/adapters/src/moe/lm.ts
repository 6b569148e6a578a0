import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  Rng,
  TransformerEncoder,
  forwardRecorded,
  softmaxCrossEntropy,
  type HostReadLog,
  type ParamSpec,
  type Weights,
} from '@hypernets/core';
import { MoeFeedForward, type RoutingStats } from './layer.js';
import { hyperRouter } from './routers/hyperrouter.js';
import { linearRouter } from './routers/linear.js';
import { ROUTER_KINDS, type MoeRouter, type RouterKind } from './routers/router.js';

export interface MoeLmConfig {
  router: RouterKind;
  /** Symbols (text8: space and a–z, 27). Default 27. */
  vocabSize?: number;
  /** Default 256. */
  dModel?: number;
  /** Default 8. */
  numHeads?: number;
  /** Default 4. */
  numBlocks?: number;
  /** Context length T. Default 128. */
  seqLength?: number;
  /** Experts E per MoE block. Default 16. */
  experts?: number;
  /** Hidden width of one expert. Default 128. The dense model's MLP is E times as wide (the same parameters). */
  expertHidden?: number;
  /** HyperRouter's hypernetwork width. Default 64 (the paper's scripts; their code falls back to 256). */
  hyperSize?: number;
  /** k at the start (changed by the trainer's schedule and at evaluation). Default E / 2. */
  topK?: number;
  /** Load-balancing loss weight (see MoeFeedForward). Default 0. */
  loadBalance?: number;
  /** 'learned' (default) or 'sinusoidal'. */
  positions?: 'learned' | 'sinusoidal';
  /** Std of the normal init of every weight and embedding (biases 0, LayerNorm 1/0). Default 0.02. */
  initStd?: number;
  seed?: number;
}

export type ResolvedMoeLmConfig = Required<MoeLmConfig>;

const KEYS = new Set([
  'router',
  'vocabSize',
  'dModel',
  'numHeads',
  'numBlocks',
  'seqLength',
  'experts',
  'expertHidden',
  'hyperSize',
  'topK',
  'loadBalance',
  'positions',
  'initStd',
  'seed',
]);

function resolve(config: MoeLmConfig): ResolvedMoeLmConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError('MoeLmConfig', 'must be an object');
  for (const k of Object.keys(config))
    if (!KEYS.has(k))
      throw new ConfigError(k, `unknown option of the MoE language model; known: ${[...KEYS].join(', ')}`);
  if (!ROUTER_KINDS.includes(config.router))
    throw new ConfigError('router', `must be one of ${ROUTER_KINDS.join(', ')}, got ${JSON.stringify(config.router)}`);
  const int = (field: string, v: unknown, dflt: number) => {
    const x = v ?? dflt;
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 1)
      throw new ConfigError(field, `must be a positive integer, got ${String(x)}`);
    return x;
  };
  const experts = int('experts', config.experts, 16);
  const positions = config.positions ?? 'learned';
  if (positions !== 'learned' && positions !== 'sinusoidal')
    throw new ConfigError('positions', `must be 'learned' or 'sinusoidal', got ${JSON.stringify(positions)}`);
  const initStd = config.initStd ?? 0.02;
  if (typeof initStd !== 'number' || !(initStd > 0))
    throw new ConfigError('initStd', `must be > 0, got ${String(initStd)}`);
  const seed = config.seed ?? 0;
  if (!Number.isSafeInteger(seed)) throw new ConfigError('seed', `must be an integer, got ${String(seed)}`);
  return {
    router: config.router,
    vocabSize: int('vocabSize', config.vocabSize, 27),
    dModel: int('dModel', config.dModel, 256),
    numHeads: int('numHeads', config.numHeads, 8),
    numBlocks: int('numBlocks', config.numBlocks, 4),
    seqLength: int('seqLength', config.seqLength, 128),
    experts,
    expertHidden: int('expertHidden', config.expertHidden, 128),
    hyperSize: int('hyperSize', config.hyperSize, 64),
    topK: int('topK', config.topK, Math.max(1, Math.floor(experts / 2))),
    loadBalance: config.loadBalance ?? 0,
    positions,
    initStd,
    seed,
  };
}

/**
 * A causal character-level Transformer language model (pre-LN, core's TransformerEncoder with
 * `causal`, no pooling, a per-position head) whose every block's MLP is a mixture of experts
 * routed by `router` — or, for 'dense', a plain ReLU MLP as wide as all experts together.
 *
 * Training a routed model: on cpu and wasm `loss(inputs, targets)` reads the top-k ids as it
 * goes; elsewhere `await record(inputs)` (read back with `await data()`) first, then
 * `loss(inputs, targets, log)` under the tape replays them.
 */
export class MoeLanguageModel {
  readonly config: ResolvedMoeLmConfig;
  readonly net: TransformerEncoder;
  /** The MoE sublayers, one per block (empty for 'dense'). */
  readonly moe: readonly MoeFeedForward[];
  readonly router: MoeRouter | null;
  /** Every variable by stable name: the net's ParamSpecs (router weights excepted) and the router's. */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /** Names of the variables that train. */
  readonly trainable: readonly string[];

  constructor(config: MoeLmConfig) {
    const c = resolve(config);
    this.config = c;
    const dense = c.router === 'dense';
    this.moe = dense
      ? []
      : Array.from(
          { length: c.numBlocks },
          () =>
            new MoeFeedForward({
              experts: c.experts,
              hidden: c.expertHidden,
              topK: c.topK,
              loadBalance: c.loadBalance,
            }),
        );
    this.net = new TransformerEncoder({
      dModel: c.dModel,
      numHeads: c.numHeads,
      numBlocks: c.numBlocks,
      seqLength: c.seqLength,
      vocabSize: c.vocabSize,
      outputSize: c.vocabSize,
      pooling: 'none',
      causal: true,
      positionalEmbedding: c.positions === 'learned' ? true : 'sinusoidal',
      ffActivation: 'relu',
      ffSize: c.experts * c.expertHidden,
      feedForward: dense ? undefined : (b) => this.moe[b],
    });
    const rng = new Rng(c.seed);
    const vars: Record<string, tf.Variable> = {};
    for (const s of this.net.params) {
      if (isRouterSpec(s.name)) continue;
      vars[s.name] = tf.tidy(() => tf.variable(initialValue(s, rng, c.initStd), true));
    }
    const routerRng = rng.fork();
    this.router =
      c.router === 'dense'
        ? null
        : c.router === 'hyperrouter'
          ? hyperRouter(c.numBlocks, c.dModel, c.experts, c.hyperSize, routerRng, c.initStd)
          : linearRouter(c.router, c.numBlocks, c.dModel, c.experts, routerRng, c.initStd);
    Object.assign(vars, this.router?.variables ?? {});
    this.variables = vars;
    const own = Object.keys(vars).filter((n) => !(this.router && n in this.router.variables));
    this.trainable = [...own, ...(this.router?.trainable ?? [])];
  }

  /** k of every MoE block (the dense model ignores it). */
  setTopK(k: number): void {
    for (const m of this.moe) m.topK = k;
  }

  get topK(): number | null {
    return this.moe[0]?.topK ?? null;
  }

  /** The weights the net runs with (router weights generated for HyperRouter): call under a tape or tidy. */
  weights(): Weights {
    const w: Weights = {};
    for (const s of this.net.params) {
      if (!isRouterSpec(s.name)) w[s.name] = this.variables[s.name]!;
      else if (s.name.endsWith('.weight')) {
        const b = Number(s.name.split('.')[1]);
        const r = this.router!.weights(b);
        w[`blocks.${b}.mlp.router.weight`] = r.weight;
        w[`blocks.${b}.mlp.router.bias`] = r.bias;
      }
    }
    return w;
  }

  /** Runs the model on `inputs` [B, T] once, reading the routes back; returns them (and the per-block routing statistics). */
  async record(inputs: tf.Tensor2D): Promise<{ log: HostReadLog; stats: RoutingStats[] }> {
    const { output, log } = await this.forwardRead(inputs);
    output.dispose();
    return { log, stats: this.moe.map((m) => m.lastStats!) };
  }

  /** The forward on the read-back path; generated router weights are freed after it. */
  private async forwardRead(inputs: tf.Tensor2D): Promise<{ output: tf.Tensor; log: HostReadLog }> {
    const w = this.weights();
    try {
      return await forwardRecorded(this.net, inputs, w);
    } finally {
      const own = new Set<tf.Tensor>(Object.values(this.variables));
      for (const t of Object.values(w)) if (!own.has(t)) t.dispose();
    }
  }

  /** Logits [B, T, V] replaying `log` (a forward on the same inputs recorded by `record`). */
  logits(inputs: tf.Tensor2D, log: HostReadLog | undefined, auxLosses?: tf.Tensor[]): tf.Tensor3D {
    return tf.tidy(
      () => this.net.forward(inputs, this.weights(), { hostReads: log, training: true, auxLosses }) as tf.Tensor3D,
    );
  }

  /** Mean next-symbol cross-entropy (nats) of `targets` [B, T] given `inputs` [B, T]. */
  loss(inputs: tf.Tensor2D, targets: tf.Tensor2D, log: HostReadLog | undefined, auxLosses?: tf.Tensor[]): tf.Scalar {
    return tf.tidy(() => {
      const logits = this.logits(inputs, log, auxLosses);
      const v = this.config.vocabSize;
      const flat = tf.reshape(logits, [-1, v]) as tf.Tensor2D;
      return softmaxCrossEntropy(flat, tf.oneHot(tf.reshape(targets, [-1]) as tf.Tensor1D, v)) as tf.Scalar;
    });
  }

  /**
   * Summed cross-entropy (nats) of `targets` given `inputs`, with the routes read on the way
   * (evaluation: one pass, no tape), and the routing statistics of each MoE block.
   */
  async evaluate(inputs: tf.Tensor2D, targets: tf.Tensor2D): Promise<{ nats: number; stats: RoutingStats[] }> {
    const { output } = await this.forwardRead(inputs);
    const sum = tf.tidy(() => {
      const v = this.config.vocabSize;
      const logp = tf.logSoftmax(tf.reshape(output, [-1, v]));
      const picked = tf.mul(logp, tf.oneHot(tf.reshape(targets, [-1]) as tf.Tensor1D, v));
      return tf.neg(tf.sum(picked));
    });
    output.dispose();
    const nats = (await sum.data())[0]!;
    sum.dispose();
    return { nats, stats: this.moe.map((m) => m.lastStats!) };
  }

  /** Parameters: all, trainable, and active per token at k (k of E experts, the router's W_r and b_r). */
  paramCounts(k = this.topK ?? 0): { total: number; trainable: number; activePerToken: number } {
    const size = (n: string) => this.variables[n]!.size;
    const total = Object.keys(this.variables).reduce((a, n) => a + size(n), 0);
    const trainable = this.trainable.reduce((a, n) => a + size(n), 0);
    let expertParams = 0;
    for (const n of Object.keys(this.variables)) if (/\.mlp\.experts\./.test(n)) expertParams += size(n);
    // The router that runs per token is W_r and b_r, whatever made them (HyperRouter's hypernetwork runs once per step).
    const routerVars = Object.keys(this.router?.variables ?? {}).reduce((a, n) => a + size(n), 0);
    const { experts: e, dModel: d } = this.config;
    const routers = this.router ? this.moe.length * (d * e + e) : 0;
    return { total, trainable, activePerToken: total - routerVars + routers - expertParams + (expertParams * k) / e };
  }

  dispose(): void {
    tf.dispose(Object.values(this.variables));
  }
}

function isRouterSpec(name: string): boolean {
  return /^blocks\.\d+\.mlp\.router\./.test(name);
}

function initialValue(s: ParamSpec, rng: Rng, std: number): tf.Tensor {
  const shape = [...s.shape];
  switch (s.kind) {
    case 'norm-scale':
      return tf.ones(shape);
    case 'bias':
    case 'norm-shift':
      return tf.zeros(shape);
    default:
      return tf.tensor(rng.normalArray(shape, 0, std), shape);
  }
}

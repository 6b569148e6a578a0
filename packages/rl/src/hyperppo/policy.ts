import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, MLP, Rng, type Weights } from '@hypernets/core';
import type { AgentOutput, PpoAgent } from '../ppo/agent.js';
import { categoricalEntropy, categoricalLogProb, gaussianEntropy, gaussianLogProb } from '../ppo/distributions.js';
import { orthogonalArray } from '../ppo/orthogonal.js';
import type { ActionEvaluation, PolicyActionHead } from '../ppo/policy.js';
import { MlpGhn } from './mlp-ghn.js';
import { disposePadded, padPolicies, paddedForward, type PaddedPolicies } from './padded.js';
import type { ArchitectureSampling, ArchitectureSpace } from './search-space.js';

/**
 * The log-std of HyperPPO's Gaussian (the reference's `std_mode`): `single`, one vector for every
 * architecture; `multi`, one vector per architecture of the space (only the sampled ones learn in
 * an iteration); `conditioned`, a tanh MLP (code → 64 → 64 → 1) of the architecture's code.
 */
export type LogStdMode = 'single' | 'multi' | 'conditioned';

export interface HyperActorCriticConfig {
  observationSize: number;
  action: PolicyActionHead;
  space: ArchitectureSpace;
  /** Architectures per iteration; the envs are split evenly among them. Default 8 (the reference's MuJoCo setting). */
  metaBatchSize?: number;
  sampling?: ArchitectureSampling;
  stdMode?: LogStdMode;
  /** Hidden widths of the critic (tanh). Default [64, 64]. */
  criticHidden?: readonly number[];
  /** The GHN's node embedding width. Default 16. */
  ghnHidden?: number;
  seed?: number;
}

/**
 * HyperPPO's agent: the actor's weights come from an `MlpGhn` given the architecture; the critic
 * is an ordinary tanh MLP on [observation, architecture code] (the reference's critic sees the
 * architecture too), with CleanRL's orthogonal init. The code of an architecture is its hidden
 * widths / the space's largest width, zero-padded to maxDepth (the reference feeds raw widths).
 *
 * Each iteration (`startIteration`) draws `metaBatchSize` architectures; env i acts with
 * architecture ⌊i / (numEnvs / metaBatchSize)⌋. All of them act in one batched pass (`padPolicies`):
 * the observations are grouped [M, n, obs] and multiplied by the M padded weight stacks.
 */
export class HyperActorCritic implements PpoAgent {
  readonly action: PolicyActionHead;
  readonly observationSize: number;
  readonly space: ArchitectureSpace;
  readonly ghn: MlpGhn;
  readonly critic: MLP;
  readonly metaBatchSize: number;
  readonly sampling: ArchitectureSampling;
  readonly stdMode: LogStdMode;
  readonly variables: Record<string, tf.Variable>;
  /** The log-std MLP of the `conditioned` mode. */
  readonly logStdNet: MLP | null;
  /** The architecture indices of the current iteration. */
  current: Int32Array;
  private numEnvs = 0;
  private cache: PaddedPolicies | null = null;

  constructor(config: HyperActorCriticConfig) {
    const space = config.space;
    this.action = config.action;
    this.observationSize = config.observationSize;
    if (space.observationSize !== config.observationSize)
      throw new ConfigError('space', `is for observations of ${space.observationSize}, not ${config.observationSize}`);
    const outSize = config.action.kind === 'discrete' ? config.action.n : config.action.size;
    if (space.actionSize !== outSize)
      throw new ConfigError('space', `is for ${space.actionSize} outputs, this action head needs ${outSize}`);
    this.space = space;
    this.metaBatchSize = config.metaBatchSize ?? 8;
    if (!Number.isInteger(this.metaBatchSize) || this.metaBatchSize < 1 || this.metaBatchSize > space.size)
      throw new ConfigError('metaBatchSize', `must be an integer from 1 to ${space.size}, got ${this.metaBatchSize}`);
    this.sampling = config.sampling ?? 'biased';
    this.stdMode = config.stdMode ?? 'single';
    const seed = config.seed ?? 0;
    this.ghn = new MlpGhn({
      observationSize: config.observationSize,
      outputSize: outSize,
      hidden: config.ghnHidden ?? 16,
      maxWidth: Math.max(...space.widths),
      seed,
    });
    this.variables = {};
    for (const [k, v] of Object.entries(this.ghn.variables)) this.variables[`ghn.${k}`] = v;
    const rng = new Rng(seed + 7919); // its own stream: the GHN draws from Rng(seed)
    const D = space.maxDepth;
    const addMlp = (prefix: string, net: MLP, headGain: number) => {
      const layers = net.sizes.length - 1;
      for (const s of net.params) {
        const values =
          s.kind === 'weight'
            ? orthogonalArray(s.shape[0]!, s.shape[1]!, rng, s.layer === layers - 1 ? headGain : Math.SQRT2)
            : new Float32Array(s.shape[0]!);
        this.variables[`${prefix}.${s.name}`] = tf.tidy(() => tf.variable(tf.tensor(values, [...s.shape], 'float32')));
      }
    };
    this.logStdNet = null;
    if (config.action.kind === 'box') {
      const d = config.action.size;
      if (this.stdMode === 'single') this.variables['actor.logStd'] = tf.tidy(() => tf.variable(tf.zeros([d])));
      else if (this.stdMode === 'multi')
        this.variables['actor.logStds'] = tf.tidy(() => tf.variable(tf.zeros([space.size, d])));
      else {
        this.logStdNet = new MLP({ inputSize: D, hiddenSizes: [64, 64], outputSize: 1, activation: 'tanh' });
        addMlp('logStdNet', this.logStdNet, 1);
      }
    }
    this.critic = new MLP({
      inputSize: config.observationSize + D,
      hiddenSizes: [...(config.criticHidden ?? [64, 64])],
      outputSize: 1,
      activation: 'tanh',
    });
    addMlp('critic', this.critic, 1);
    this.current = Int32Array.from({ length: this.metaBatchSize }, (_, i) => i);
  }

  /** The architecture code [maxDepth]: widths / the largest width, zero-padded. */
  code(index: number): number[] {
    const a = this.space.architectures[index]!;
    const W = Math.max(...this.space.widths);
    return Array.from({ length: this.space.maxDepth }, (_, l) => (l < a.length ? a[l]! / W : 0));
  }

  /** Draws the iteration's architectures and generates their weights for the rollout. */
  startIteration(rng: Rng, numEnvs: number): void {
    if (numEnvs % this.metaBatchSize !== 0)
      throw new ConfigError('numEnvs', `must be a multiple of metaBatchSize ${this.metaBatchSize}, got ${numEnvs}`);
    this.numEnvs = numEnvs;
    this.current = this.space.sample(rng, this.metaBatchSize, this.sampling);
    this.endIteration();
    this.cache = this.generatePadded(this.current);
  }

  endIteration(): void {
    if (this.cache) disposePadded(this.cache);
    this.cache = null;
  }

  /** The padded weight stacks of architectures `indices` (on the caller's tape). */
  generatePadded(indices: ArrayLike<number>): PaddedPolicies {
    return tf.tidy(() => {
      const policies = this.ghn.generate(Array.from(indices, (i) => this.space.architectures[i]!));
      return padPolicies(policies) as unknown as tf.TensorContainer;
    }) as unknown as PaddedPolicies;
  }

  private slotOf(env: number): number {
    const per = this.numEnvs / this.metaBatchSize;
    if (!(per >= 1)) throw new ConfigError('HyperActorCritic', 'call startIteration before acting');
    return Math.floor(env / per);
  }

  /** Checks that rows come grouped by architecture slot, the same count each; returns the count. */
  private groupSize(envs: Int32Array): number {
    const M = this.metaBatchSize;
    const n = envs.length / M;
    if (!Number.isInteger(n) || n < 1)
      throw new ConfigError('envs', `${envs.length} rows cannot be split evenly among ${M} architectures`);
    for (let i = 0; i < envs.length; i++)
      if (this.slotOf(envs[i]!) !== Math.floor(i / n))
        throw new ConfigError(
          'envs',
          'rows must come grouped by architecture, the same number each (use minibatches())',
        );
    return n;
  }

  /** Actor outputs [B, out] of rows grouped by slot, with the padded stacks of the slots' architectures. */
  private actorOut(obs: tf.Tensor2D, n: number, padded: PaddedPolicies): tf.Tensor2D {
    return tf.tidy(() => {
      const M = padded.weights[0]!.shape[0];
      const y = paddedForward(tf.reshape(obs, [M, n, this.observationSize]) as tf.Tensor3D, padded);
      return tf.reshape(y, [M * n, -1]) as tf.Tensor2D;
    });
  }

  /** log σ per row [B, d] for architectures `archOfRow`, or the shared [d]; null for a categorical. */
  private logStdRows(archOfRow: Int32Array): tf.Tensor | null {
    if (this.action.kind !== 'box') return null;
    const d = this.action.size;
    return tf.tidy(() => {
      if (this.stdMode === 'single') return tf.clone(this.variables['actor.logStd']!);
      if (this.stdMode === 'multi') return tf.gather(this.variables['actor.logStds']!, tf.tensor1d(archOfRow, 'int32'));
      const codes = tf.tensor2d(
        Array.from(archOfRow, (a) => this.code(a)),
        [archOfRow.length, this.space.maxDepth],
      );
      const one = this.logStdNet!.forward(codes, pick(this.variables, 'logStdNet.'));
      return tf.tile(one, [1, d]);
    });
  }

  private criticRows(obs: tf.Tensor2D, archOfRow: Int32Array): tf.Tensor1D {
    return tf.tidy(() => {
      const codes = tf.tensor2d(
        Array.from(archOfRow, (a) => this.code(a)),
        [archOfRow.length, this.space.maxDepth],
      );
      const x = tf.concat([obs, codes], 1);
      return tf.reshape(this.critic.forward(x, pick(this.variables, 'critic.')), [-1]) as tf.Tensor1D;
    });
  }

  private archOfRows(envs: Int32Array): Int32Array {
    return envs.map((e) => this.current[this.slotOf(e)]!);
  }

  act(obs: tf.Tensor2D, envs: Int32Array): AgentOutput {
    const n = this.groupSize(envs);
    const archs = this.archOfRows(envs);
    const padded = this.cache ?? this.generatePadded(this.current);
    try {
      const out = this.actorOut(obs, n, padded);
      return { out, value: this.criticRows(obs, archs), logStd: this.logStdRows(archs) };
    } finally {
      if (padded !== this.cache) disposePadded(padded);
    }
  }

  values(obs: tf.Tensor2D, envs: Int32Array): tf.Tensor1D {
    return this.criticRows(obs, this.archOfRows(envs));
  }

  evaluate(obs: tf.Tensor2D, actions: tf.Tensor, envs: Int32Array): ActionEvaluation {
    const n = this.groupSize(envs);
    const archs = this.archOfRows(envs);
    return tf.tidy(() => {
      const out = this.actorOut(obs, n, this.generatePadded(this.current));
      const value = this.criticRows(obs, archs);
      if (this.action.kind === 'discrete')
        return { logProb: categoricalLogProb(out, actions), entropy: categoricalEntropy(out), value };
      const logStd = this.logStdRows(archs)!;
      return {
        logProb: gaussianLogProb(out, logStd, actions),
        entropy: gaussianEntropy(logStd, obs.shape[0]),
        value,
      };
    }) as unknown as ActionEvaluation;
  }

  /**
   * Stratified minibatches (the reference's): each holds the same number of samples of every
   * architecture, grouped by architecture, each architecture's samples shuffled.
   */
  minibatches(rng: Rng, numSteps: number, numEnvs: number, numMinibatches: number): Int32Array[] {
    const M = this.metaBatchSize;
    const per = numEnvs / M;
    const count = numSteps * per;
    if (!Number.isInteger(per) || count % numMinibatches !== 0)
      throw new ConfigError(
        'numMinibatches',
        `must divide each architecture's ${count} samples (numSteps × numEnvs / metaBatchSize), got ${numMinibatches}`,
      );
    const size = count / numMinibatches;
    const out = Array.from({ length: numMinibatches }, () => new Int32Array(size * M));
    for (let s = 0; s < M; s++) {
      const perm = rng.permutation(count);
      for (let k = 0; k < numMinibatches; k++)
        for (let j = 0; j < size; j++) {
          const q = perm[k * size + j]!;
          const t = Math.floor(q / per);
          out[k]![s * size + j] = t * numEnvs + s * per + (q % per);
        }
    }
    return out;
  }

  /** Number of trainable values (GHN, log-std, critic). */
  get parameterCount(): number {
    return Object.values(this.variables).reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    this.endIteration();
    tf.dispose(Object.values(this.variables));
  }
}

function pick(vars: Record<string, tf.Variable>, prefix: string): Weights {
  const out: Weights = {};
  for (const [k, v] of Object.entries(vars)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

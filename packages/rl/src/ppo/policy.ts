import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, MLP, Rng, type Weights } from '@hypernets/core';
import { shuffledMinibatches, type AgentOutput, type PpoAgent } from './agent.js';
import { categoricalEntropy, categoricalLogProb, gaussianEntropy, gaussianLogProb } from './distributions.js';
import { orthogonalArray } from './orthogonal.js';

/** The action head: a categorical over `n` actions, or a diagonal Gaussian over `size` values. */
export type PolicyActionHead = { kind: 'discrete'; n: number } | { kind: 'box'; size: number };

export interface ActorCriticConfig {
  observationSize: number;
  action: PolicyActionHead;
  /** Hidden widths of the actor and of the critic. Default [64, 64] (CleanRL). */
  hiddenSizes?: readonly number[];
  /** Seeds the orthogonal init. Default 0. */
  seed?: number;
}

/** What the actor and critic give for a batch of observations at given actions. */
export interface ActionEvaluation {
  /** log π(a | s): [B]. */
  logProb: tf.Tensor1D;
  /** Entropy of π(· | s): [B]. */
  entropy: tf.Tensor1D;
  /** V(s): [B]. */
  value: tf.Tensor1D;
}

/**
 * CleanRL's PPO agent on core's functional MLPs: an actor (tanh MLP → logits of a categorical for a
 * Discrete action space, or the mean of a diagonal Gaussian with a state-independent log-std, a
 * variable initialised to 0, for a Box) and a separate critic (tanh MLP → V(s)). Weights are
 * orthogonal as CleanRL's `layer_init`: gain √2 for hidden layers, 0.01 for the actor's output,
 * 1 for the critic's, biases 0.
 *
 * The variables live in `variables` under `actor.<spec>`, `actor.logStd` and `critic.<spec>`;
 * every forward takes a weight record (`actorWeights()` by default), so generated actor weights
 * (HyperPPO) run through the same code, per-sample weights included.
 */
export class ActorCritic implements PpoAgent {
  readonly actor: MLP;
  readonly critic: MLP;
  readonly action: PolicyActionHead;
  readonly observationSize: number;
  readonly hiddenSizes: readonly number[];
  /** Every trainable variable by name, in a fixed order (actor specs, logStd, critic specs). */
  readonly variables: Record<string, tf.Variable>;
  /** The Gaussian's log-std [size]; null for a categorical head. */
  readonly logStd: tf.Variable | null;

  constructor(config: ActorCriticConfig) {
    const obs = config.observationSize;
    if (!Number.isInteger(obs) || obs < 1)
      throw new ConfigError('observationSize', `must be a positive integer, got ${obs}`);
    const head = config.action;
    const out = head.kind === 'discrete' ? head.n : head.size;
    if (!Number.isInteger(out) || out < 1)
      throw new ConfigError(
        'action',
        `needs a positive integer ${head.kind === 'discrete' ? 'n' : 'size'}, got ${out}`,
      );
    this.action = head;
    this.observationSize = obs;
    this.hiddenSizes = [...(config.hiddenSizes ?? [64, 64])];
    this.actor = new MLP({ inputSize: obs, hiddenSizes: this.hiddenSizes, outputSize: out, activation: 'tanh' });
    this.critic = new MLP({ inputSize: obs, hiddenSizes: this.hiddenSizes, outputSize: 1, activation: 'tanh' });
    const rng = new Rng(config.seed ?? 0);
    this.variables = {};
    const add = (prefix: string, net: MLP, headGain: number) => {
      const layers = net.sizes.length - 1;
      for (const s of net.params) {
        const last = s.layer === layers - 1;
        const values =
          s.kind === 'weight'
            ? orthogonalArray(s.shape[0]!, s.shape[1]!, rng, last ? headGain : Math.SQRT2)
            : new Float32Array(s.shape[0]!);
        // tidy frees the initial tensor (the variable outlives it)
        this.variables[`${prefix}.${s.name}`] = tf.tidy(() => tf.variable(tf.tensor(values, [...s.shape], 'float32')));
      }
    };
    add('actor', this.actor, 0.01);
    this.logStd = head.kind === 'box' ? tf.tidy(() => tf.variable(tf.zeros([head.size]))) : null;
    if (this.logStd) this.variables['actor.logStd'] = this.logStd;
    add('critic', this.critic, 1);
  }

  /** The actor's weights (views of the variables): the MLP's specs, plus `logStd` for a Gaussian. */
  actorWeights(): Weights {
    return pick(this.variables, 'actor.');
  }

  /** The critic's weights (views of the variables). */
  criticWeights(): Weights {
    return pick(this.variables, 'critic.');
  }

  /** Logits [B, n] (categorical) or the Gaussian's mean [B, size] for observations [B, obs]. */
  actorOutput(obs: tf.Tensor, weights: Weights = this.actorWeights()): tf.Tensor2D {
    return this.actor.forward(obs, weights) as tf.Tensor2D;
  }

  /** V(s) for observations [B, obs]: [B]. */
  value(obs: tf.Tensor, weights: Weights = this.criticWeights()): tf.Tensor1D {
    return tf.tidy(() => tf.reshape(this.critic.forward(obs, weights), [-1]) as tf.Tensor1D);
  }

  /**
   * log π(a | s), the entropy and V(s) for observations [B, obs] and actions (int32 [B] for a
   * categorical, [B, size] for a Gaussian): what the PPO loss needs, on the tape.
   */
  evaluateActions(
    obs: tf.Tensor,
    actions: tf.Tensor,
    actorWeights: Weights = this.actorWeights(),
    criticWeights: Weights = this.criticWeights(),
  ): ActionEvaluation {
    return tf.tidy(() => {
      const out = this.actorOutput(obs, actorWeights);
      const value = this.value(obs, criticWeights);
      if (this.action.kind === 'discrete')
        return { logProb: categoricalLogProb(out, actions), entropy: categoricalEntropy(out), value };
      const logStd = actorWeights.logStd;
      if (!logStd) throw new ConfigError('actorWeights.logStd', 'a Gaussian policy needs its log-std');
      return {
        logProb: gaussianLogProb(out, logStd, actions),
        entropy: gaussianEntropy(logStd, obs.shape[0]!),
        value,
      };
    }) as unknown as ActionEvaluation;
  }

  /** PpoAgent: one policy for every env; nothing to draw per iteration. */
  startIteration(): void {}

  /** PpoAgent: actor output, V(s) and the shared log σ for observations [B, obs]. */
  act(obs: tf.Tensor2D): AgentOutput {
    const [out, value] = tf.tidy(() => [this.actorOutput(obs), this.value(obs)]) as [tf.Tensor2D, tf.Tensor1D];
    return { out, value, logStd: this.logStd ? tf.clone(this.logStd) : null };
  }

  /** PpoAgent: V(s) with the critic's variables. */
  values(obs: tf.Tensor2D): tf.Tensor1D {
    return this.value(obs);
  }

  /** PpoAgent: `evaluateActions` with the variables. */
  evaluate(obs: tf.Tensor2D, actions: tf.Tensor): ActionEvaluation {
    return this.evaluateActions(obs, actions);
  }

  /** PpoAgent: one shuffled split of the rollout (CleanRL's). */
  minibatches(rng: Rng, numSteps: number, numEnvs: number, numMinibatches: number): Int32Array[] {
    return shuffledMinibatches(rng, numSteps * numEnvs, numMinibatches);
  }

  /** Number of trainable values (actor, log-std and critic). */
  get parameterCount(): number {
    return Object.values(this.variables).reduce((n, v) => n + v.size, 0);
  }

  dispose(): void {
    tf.dispose(Object.values(this.variables));
  }
}

function pick(vars: Record<string, tf.Variable>, prefix: string): Weights {
  const out: Weights = {};
  for (const [k, v] of Object.entries(vars)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

import type * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@hypernets/core';
import type { ActionEvaluation, PolicyActionHead } from './policy.js';

/** What an agent's actor and critic give for a batch of observations. */
export interface AgentOutput {
  /** Logits [B, n] (categorical) or the Gaussian's mean [B, d]. */
  out: tf.Tensor2D;
  /** V(s): [B]. */
  value: tf.Tensor1D;
  /** log σ of a Gaussian, [d] (shared by every row) or [B, d]; null for a categorical. */
  logStd: tf.Tensor | null;
}

/**
 * What `PpoTrainer` trains: an actor and a critic over named variables. `ActorCritic` (one policy)
 * and HyperPPO's `HyperActorCritic` (a hypernetwork's policies, one architecture per group of envs)
 * both implement it, so one rollout, update, checkpoint and resume code serves both.
 *
 * Rows carry the index of the env they came from (`envs`): an agent whose policy differs per env
 * (HyperPPO) reads it; the others ignore it.
 */
export interface PpoAgent {
  readonly action: PolicyActionHead;
  readonly observationSize: number;
  /** Every trainable variable by name, in a fixed order: what Adam updates and checkpoints hold. */
  readonly variables: Record<string, tf.Variable>;
  /** Before each rollout; draws from `rng` only what it needs (HyperPPO: the iteration's architectures). */
  startIteration(rng: Rng, numEnvs: number): void;
  /** After each iteration's update (an agent may drop what it cached for the rollout). */
  endIteration?(): void;
  /** Actor output, V(s) and log σ for observations [B, obs] from envs `envs` [B]. */
  act(obs: tf.Tensor2D, envs: Int32Array): AgentOutput;
  /** V(s) [B] for observations [B, obs] from envs `envs`. */
  values(obs: tf.Tensor2D, envs: Int32Array): tf.Tensor1D;
  /** log π(a | s), entropy and V(s) on the tape, for a minibatch's rows from envs `envs`. */
  evaluate(obs: tf.Tensor2D, actions: tf.Tensor, envs: Int32Array): ActionEvaluation;
  /**
   * One epoch's minibatches over a rollout of `numSteps` × `numEnvs` samples (sample t·numEnvs + i
   * is env i's step t): disjoint index lists covering every sample.
   */
  minibatches(rng: Rng, numSteps: number, numEnvs: number, numMinibatches: number): Int32Array[];
  dispose(): void;
}

/** A shuffled split of B samples into `numMinibatches` equal minibatches (CleanRL's). */
export function shuffledMinibatches(rng: Rng, batch: number, numMinibatches: number): Int32Array[] {
  const perm = rng.permutation(batch);
  const size = batch / numMinibatches;
  return Array.from({ length: numMinibatches }, (_, k) => Int32Array.from(perm.subarray(k * size, (k + 1) * size)));
}

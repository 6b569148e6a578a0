import type * as tf from '@tensorflow/tfjs-core';

/** A domain-generalisation algorithm as DomainBed's `Algorithm`: what trains, its loss, its predictions. */
export interface DgAlgorithm {
  readonly name: string;
  /** Every variable by stable name (checkpoints). */
  readonly variables: Readonly<Record<string, tf.Variable>>;
  /** Names of the variables that train. */
  readonly trainable: readonly string[];
  /** The training loss of a batch of images [N, 28, 28, C] and labels [N] (the algorithm's own terms included); under the caller's tape. */
  loss(x: tf.Tensor4D, y: tf.Tensor1D): tf.Scalar;
  /** Class logits [N, classes]. */
  predict(x: tf.Tensor4D): tf.Tensor2D;
  /** A mixture's gate weights [N, experts] (for expert usage per domain); absent for single models. */
  gate?(x: tf.Tensor4D): tf.Tensor2D;
  /** A mixture's logits and gate weights from one pass (evaluation runs the featurizer once); mixtures only. */
  predictWithGate?(x: tf.Tensor4D): { logits: tf.Tensor2D; gate: tf.Tensor2D };
  dispose(): void;
}

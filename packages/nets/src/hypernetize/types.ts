import type * as tf from '@tensorflow/tfjs-core';
import type { ForwardOptions, NetState, ParamSpec, StateSpec, Weights } from '@hypernets/core';

/**
 * The duck-typed views of tfjs-layers objects read by hypernetize, and the shape of one
 * converted layer. tfjs-layers is never imported: layers are read through `getClassName()`,
 * `getConfig()`, `weights` and `getWeights()`, so it stays a dev dependency.
 */

/** The part of a tfjs-layers `LayerVariable` read here. */
export interface LayerVariableLike {
  readonly name: string;
  readonly originalName?: string;
  readonly shape: readonly (number | null)[];
}

/** The part of a tfjs-layers `Layer` read here (a `tf.layers.Layer` satisfies it). */
export interface LayerLike {
  readonly name: string;
  getClassName(): string;
  getConfig(): object;
  readonly weights: readonly LayerVariableLike[];
  getWeights(): tf.Tensor[];
  apply(inputs: tf.Tensor, kwargs?: Record<string, unknown>): unknown;
  readonly inboundNodes?: readonly { readonly inboundLayers: readonly LayerLike[] }[];
}

/** The part of a tfjs-layers `LayersModel` read here (Sequential or functional). */
export interface LayersModelLike extends LayerLike {
  readonly layers: readonly LayerLike[];
  readonly inputs: readonly { readonly shape: readonly (number | null)[] }[];
  readonly outputs: readonly { readonly shape: readonly (number | null)[] }[];
}

/** How one layer runs in the functional net. */
export interface LayerOp {
  readonly layerName: string;
  readonly className: string;
  /** Generatable weights of this layer, `${layerName}.${weightName}`. */
  readonly specs: readonly ParamSpec[];
  readonly stateSpecs: readonly StateSpec[];
  /** Weights (cloned, by spec name or state name) that the model holds now. */
  readonly values: Weights;
  /** Kept as is (unsupported: 'fixed'): its weights live in the tfjs layer. */
  readonly external: boolean;
  run(x: tf.Tensor, weights: Weights, ctx: RunContext): tf.Tensor;
}

export interface RunContext {
  readonly options: ForwardOptions;
  readonly state: NetState | undefined;
  readonly condition: string | number;
}

export type Config = Record<string, unknown>;

export interface ConvertContext {
  /** Index of the next layer that carries ParamSpecs. */
  layerIndex: number;
  /** Activation of the layer that follows (an Activation layer), for the spec's init hint. */
  nextActivation: string | null;
}

/** Converts one layer of a given class (its config already read) into a LayerOp. */
export type LayerConverter = (layer: LayerLike, cfg: Config, cc: ConvertContext) => LayerOp;

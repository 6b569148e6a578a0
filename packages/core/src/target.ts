import type { Tensor } from '@tensorflow/tfjs-core';
import type { ParamSpec, Weights } from './params.js';
import type { Rng } from './random.js';
import type { NetState } from './state.js';

export interface ForwardOptions {
  /** Training mode: dropout active, batch norm uses (and updates) batch statistics. */
  training?: boolean;
  /** Source of dropout masks; required when training with dropout > 0. */
  rng?: Rng;
  /** Where batch-norm running statistics live (outside the generated weights). */
  state?: NetState;
  /** Which condition's running statistics to use/update (e.g. a task id). Default '0'. */
  condition?: string | number;
  /**
   * Rewrites the output of each named sublayer (see `TargetNet.sublayers`) before its residual
   * add: adapters (HyperFormer's places: after the attention and after the FFN of each block)
   * return `y + adapter(y)`. Called once per site per forward, in network order.
   */
  sublayerHook?: SublayerHook;
}

/** A named sublayer output that `ForwardOptions.sublayerHook` sees: its name and feature width. */
export interface SublayerSite {
  readonly name: string;
  readonly width: number;
}

/** Rewrites a sublayer output y [N, …, width] (same shape out); see `ForwardOptions.sublayerHook`. */
export type SublayerHook = (site: string, y: Tensor) => Tensor;

/**
 * An architecture with no weights of its own: what it needs (`params`) and how it runs with
 * given weights (`forward`). When every weight carries a leading batch dimension B equal to
 * x's batch size, sample i runs with weight set i.
 */
export interface TargetNet {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  /** Shape of one input sample (without batch dimension). */
  readonly inputShape: readonly number[];
  /** Shape of one output sample (without batch dimension). */
  readonly outputShape: readonly number[];
  forward(x: Tensor, weights: Weights, options?: ForwardOptions): Tensor;
  /** Names and shapes of non-trainable state (batch-norm running stats), per condition. */
  readonly stateSpecs?: readonly StateSpec[];
  /** Sublayer outputs `forward` passes through `options.sublayerHook`, in network order. */
  readonly sublayers?: readonly SublayerSite[];
}

export interface StateSpec {
  readonly name: string;
  readonly shape: readonly number[];
  /** Value a fresh condition starts with. */
  readonly init: 'zeros' | 'ones';
}

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
  /**
   * The host values a staged forward asked for (see `TargetNet.forwardStaged`), as
   * `recordHostReads` recorded them: a synchronous `forward` (e.g. inside a gradient tape)
   * replays them in order instead of reading tensors back.
   */
  hostReads?: HostReadLog;
  /**
   * Where sublayers put extra training losses (a mixture of experts' load-balancing loss): each
   * pushed tensor is kept (`tf.keep`) past the forward's scope; the caller adds and disposes them.
   */
  auxLosses?: Tensor[];
}

/**
 * A pause of a staged forward: it needs the values of `read()`'s tensors on the host (e.g. the
 * experts a mixture-of-experts layer routes each token to) before it can go on.
 */
export interface HostRead {
  /** Where in the network the read happens (checked when a recorded log is replayed). */
  readonly site: string;
  /** The tensors to read; called only when the values are read, not when they are replayed. */
  readonly read: () => Tensor[];
}

/** The values of one `HostRead`'s tensors, in order. */
export type HostValues = readonly (Float32Array | Int32Array | Uint8Array)[];

/** What a staged forward read, in order: `recordHostReads` writes it, `ForwardOptions.hostReads` replays it. */
export interface HostReadLog {
  readonly entries: readonly { readonly site: string; readonly values: HostValues }[];
}

/** A forward that yields a `HostRead` wherever it needs values on the host and returns the output. */
export type StagedForward = Generator<HostRead, Tensor, HostValues>;

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
  /**
   * The same computation as `forward`, pausing at each `HostRead` (a net whose data flow
   * depends on tensor values, e.g. top-k routing). Run it with `recordHostReads` (async: reads
   * with `await data()`, never synchronously), then replay the log in `forward`'s
   * `options.hostReads` under a gradient tape. Nets without it never read back.
   */
  forwardStaged?(x: Tensor, weights: Weights, options?: ForwardOptions): StagedForward;
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

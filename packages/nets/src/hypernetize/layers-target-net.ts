import * as tf from '@tensorflow/tfjs-core';
import {
  NetState,
  ShapeMismatchError,
  checkWeights,
  type ForwardOptions,
  type ParamSpec,
  type StateSpec,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import type { LayerOp, RunContext } from './types.js';

/**
 * The functional re-implementation of a LayersModel. `params` are every supported layer's
 * weights (`${layerName}.${weightName}`); each may be shared or per-sample independently
 * (layers with a per-sample weight run per-sample, the others shared). Batch-norm moving
 * statistics live in a NetState (`state`, holding the model's values under condition '0';
 * a condition first seen in any NetState starts from the model's values too).
 */
export class LayersTargetNet implements TargetNet {
  readonly name: string;
  readonly params: readonly ParamSpec[];
  readonly stateSpecs: readonly StateSpec[];
  /** -1 where the model leaves a dimension open. */
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  /** The model's moving statistics (condition '0'), used when options.state is not given. */
  readonly state: NetState | undefined;
  private readonly ops: readonly LayerOp[];
  private readonly stateValues: Record<string, tf.Tensor>;

  constructor(name: string, ops: LayerOp[], inputShape: number[], outputShape: number[]) {
    this.name = name;
    this.ops = ops;
    this.params = ops.flatMap((o) => o.specs);
    this.stateSpecs = ops.flatMap((o) => o.stateSpecs);
    this.inputShape = inputShape;
    this.outputShape = outputShape;
    this.stateValues = {};
    for (const o of ops) for (const s of o.stateSpecs) this.stateValues[s.name] = o.values[s.name]!;
    if (this.stateSpecs.length > 0) {
      this.state = new NetState(this.stateSpecs);
      this.seedState(this.state, '0');
    } else this.state = undefined;
  }

  /** Loads the model's moving statistics into `state` under `condition`. */
  seedState(state: NetState, condition: string | number = '0'): void {
    state.loadNamedTensors(
      Object.fromEntries(Object.entries(this.stateValues).map(([k, t]) => [`${condition}/${k}`, t])),
    );
  }

  forward(x: tf.Tensor, weights: Weights, options: ForwardOptions = {}): tf.Tensor {
    const batch = checkWeights(this.params, weights, this.name, { mixed: true });
    const want = this.inputShape;
    if (x.rank !== want.length + 1 || want.some((d, i) => d !== -1 && x.shape[i + 1] !== d))
      throw new ShapeMismatchError(
        `input of ${this.name}`,
        [x.shape[0] ?? -1, ...want],
        x.shape,
        `pass [N, ${want.join(', ')}] (-1: any size)`,
      );
    if (batch !== null && x.shape[0] !== batch)
      throw new ShapeMismatchError(
        `input of ${this.name} (per-sample weights)`,
        [batch, ...x.shape.slice(1)],
        x.shape,
        `the weights carry a batch of ${batch} weight sets: x needs one sample per weight set`,
      );
    const condition = options.condition ?? '0';
    const state = options.state ?? this.state;
    if (state && this.stateSpecs.length > 0 && !state.conditions().includes(String(condition)))
      this.seedState(state, condition);
    const ctx: RunContext = { options, state, condition };
    return tf.tidy(() => {
      let h = x;
      for (const op of this.ops) h = op.run(h, weights, ctx);
      return h;
    });
  }

  /** Frees the moving statistics (the model's values are snapshots owned here). */
  dispose(): void {
    this.state?.dispose();
    tf.dispose(Object.values(this.stateValues));
  }
}

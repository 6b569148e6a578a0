import type * as tf from '@tensorflow/tfjs-core';
import { countParams, type ParamSpec, type Weights } from '@hypernets/core';

/**
 * What every network that owns its weights shares: variables by ParamSpec name, handed out as
 * `ownWeights()` (the `weights` argument of its own `forward`), listed in ParamSpec order for
 * optimisers, counted, and disposed.
 */
export abstract class VariableOwner {
  abstract readonly params: readonly ParamSpec[];
  protected readonly vars: Record<string, tf.Variable> = {};

  ownWeights(): Weights {
    return { ...this.vars };
  }

  trainableVariables(): tf.Variable[] {
    return this.params.map((s) => this.vars[s.name]!);
  }

  /** Number of trainable scalars. */
  get numParams(): number {
    return countParams(this.params);
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
  }
}

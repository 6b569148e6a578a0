import * as tf from '@tensorflow/tfjs-core';
import type { AdapterMethod, MethodContext, MethodForward } from './method.js';

/** Full fine-tuning: every backbone weight is a variable shared by all tasks (named `backbone.<param>`). */
export class FineTune implements AdapterMethod {
  readonly name = 'finetune' as const;
  readonly shared: Record<string, tf.Variable>;
  private readonly fwd: MethodForward;

  constructor(ctx: MethodContext) {
    const { net, weights } = ctx.backbone;
    this.shared = Object.fromEntries(net.params.map((s) => [`backbone.${s.name}`, tf.variable(weights[s.name], true)]));
    this.fwd = { weights: Object.fromEntries(net.params.map((s) => [s.name, this.shared[`backbone.${s.name}`]])) };
  }

  taskVariables(): Record<string, never> {
    return {};
  }

  forward(): MethodForward {
    return this.fwd;
  }

  dispose(): void {
    tf.dispose(Object.values(this.shared));
  }
}

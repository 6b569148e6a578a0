import type * as tf from '@tensorflow/tfjs-core';
import { adapterSpecs, applyAdapter, checkAdapterShape, type AdapterShape } from '../adapter.js';
import {
  adapterVariables,
  defaultAdapterShape,
  type AdapterMethod,
  type MethodContext,
  type MethodForward,
} from './method.js';

/**
 * Per-task bottleneck adapters (the baseline): task t has its own adapter at every site,
 * y + U·act(D·LN(y)) (pre-norm, Pfeiffer/Houlsby style), down/up N(0, 0.01²), biases 0,
 * LayerNorm 1/0, so each starts as the identity up to 1e-2. Variables: `adapters.<t>.<site>.<tensor>`.
 */
export class PerTaskAdapters implements AdapterMethod {
  readonly name = 'adapters' as const;
  readonly shared = {};
  readonly shape: AdapterShape;
  private readonly vars: Record<string, tf.Variable>[];
  private readonly fwd: MethodForward[];

  constructor(ctx: MethodContext, options: { reductionFactor?: number } = {}) {
    const { net, weights } = ctx.backbone;
    const sites = net.sublayers;
    this.shape = { ...defaultAdapterShape(sites[0]!.width, options.reductionFactor), preNorm: true, postNorm: false };
    checkAdapterShape(this.shape);
    const specs = sites.flatMap((s, i) => adapterSpecs(`${s.name}.`, { ...this.shape, width: s.width }, i));
    this.vars = ctx.tasks.map((_, t) => adapterVariables(specs, ctx.rng, 1e-2, `adapters.${t}.`));
    this.fwd = this.vars.map((v, t) => ({
      weights,
      hook: (site, y) => applyAdapter(y, (name) => v[`adapters.${t}.${name}`]!, this.shape, `${site}.`),
    }));
  }

  taskVariables(task: number): Record<string, tf.Variable> {
    return this.vars[task]!;
  }

  forward(task: number): MethodForward {
    return this.fwd[task]!;
  }

  dispose(): void {
    for (const v of this.vars) for (const x of Object.values(v)) x.dispose();
  }
}

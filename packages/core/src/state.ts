import * as tf from '@tensorflow/tfjs-core';
import type { StateSpec } from './target.js';
import { ConfigError, ShapeMismatchError } from './errors/index.js';
import { sameShape } from './params.js';

/**
 * Non-trainable state of a target network (batch-norm running mean/variance), kept per
 * condition (e.g. per task) and named `${condition}/${name}`. Lives outside the generated
 * weights; checkpoints save it through `toNamedTensors`/`loadNamedTensors`.
 */
export class NetState {
  private readonly vars = new Map<string, tf.Variable>();

  constructor(readonly specs: readonly StateSpec[]) {}

  private key(condition: string | number, name: string) {
    return `${condition}/${name}`;
  }

  /** The variable for `name` under `condition`, created from its spec on first use. */
  get(condition: string | number, name: string): tf.Variable {
    const k = this.key(condition, name);
    let v = this.vars.get(k);
    if (!v) {
      const spec = this.specs.find((s) => s.name === name);
      if (!spec) throw new ConfigError(`state.${name}`, `no StateSpec named '${name}'`);
      v = tf.tidy(() =>
        tf.variable(spec.init === 'ones' ? tf.ones([...spec.shape]) : tf.zeros([...spec.shape]), false, undefined),
      );
      this.vars.set(k, v);
    }
    return v;
  }

  conditions(): string[] {
    return [...new Set([...this.vars.keys()].map((k) => k.slice(0, k.indexOf('/'))))];
  }

  /** All state tensors by `${condition}/${name}` (views, not copies). */
  toNamedTensors(): Record<string, tf.Tensor> {
    return Object.fromEntries(this.vars);
  }

  /** Validates every entry first, then assigns; nothing changes when one entry is wrong. */
  loadNamedTensors(tensors: Record<string, tf.Tensor>): void {
    const plan: [string, string, tf.Tensor][] = [];
    for (const [k, t] of Object.entries(tensors)) {
      const slash = k.indexOf('/');
      const name = k.slice(slash + 1);
      const spec = this.specs.find((s) => s.name === name);
      if (slash < 0 || !spec) throw new ConfigError(`state.${k}`, 'unknown state entry');
      if (!sameShape(spec.shape, t.shape)) throw new ShapeMismatchError(`state '${k}'`, spec.shape, t.shape);
      plan.push([k.slice(0, slash), name, t]);
    }
    for (const [c, n, t] of plan) this.get(c, n).assign(t);
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}

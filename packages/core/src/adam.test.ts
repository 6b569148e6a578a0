import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from './backend/index.js';
import { Adam } from './adam.js';

/** torch.optim.Adam by hand in float64 (the reference both implementations must follow). */
function reference(
  x0: number[],
  grads: (x: number[]) => number[],
  steps: number,
  o: { lr: number; b1: number; b2: number; eps: number; wd: number; decoupled?: boolean },
) {
  const x = [...x0];
  const m = x.map(() => 0);
  const v = x.map(() => 0);
  const trace: number[][] = [];
  for (let t = 1; t <= steps; t++) {
    // torch.optim.Adam: L2 in the gradient; torch.optim.AdamW: param.mul_(1 − lr·wd) first
    const g = grads(x).map((gi, i) => gi + (o.decoupled ? 0 : o.wd * x[i]!));
    for (let i = 0; i < x.length; i++) {
      if (o.decoupled) x[i] = x[i]! * (1 - o.lr * o.wd);
      m[i] = o.b1 * m[i]! + (1 - o.b1) * g[i]!;
      v[i] = o.b2 * v[i]! + (1 - o.b2) * g[i]! * g[i]!;
      x[i] = x[i]! - ((o.lr / (1 - o.b1 ** t)) * m[i]!) / (Math.sqrt(v[i]!) / Math.sqrt(1 - o.b2 ** t) + o.eps);
    }
    trace.push([...x]);
  }
  return trace;
}

describe('Adam (torch.optim.Adam, shared by continual and graph)', () => {
  beforeAll(async () => {
    await initBackend('wasm');
    await initBackend('cpu');
  });

  const coef = [1, 3, 0.5, -2, 0.1];
  const x0 = [0.5, -1, 2, 0.3, -0.7];
  const grad = (x: number[]) => x.map((xi, i) => 2 * coef[i]! * xi); // d/dx Σ c·x²
  const cfg = { lr: 0.05, b1: 0.9, b2: 0.999, eps: 1e-8, wd: 0.01 };

  /** Six steps of `new Adam([x], config)` on Σ c·x² against `ref`; candidate() must be each step taken. No tensor leaks. */
  function followsReference(config: ConstructorParameters<typeof Adam>[1], ref: number[][]): void {
    const x = tf.variable(tf.tensor1d(x0));
    const opt = new Adam([x], config);
    const before = tf.memory().numTensors;
    for (let s = 0; s < 6; s++) {
      const g = tf.tidy(() => tf.mul(tf.mul(x, tf.tensor1d(coef)), 2));
      const cand = opt.candidate([g]);
      const prev = Array.from(x.dataSync());
      opt.step([g]);
      const now = Array.from(x.dataSync());
      Array.from(cand[0]!.dataSync()).forEach((d, i) => expect(d).toBeCloseTo(now[i]! - prev[i]!, 6));
      now.forEach((xi, i) => expect(Math.abs(xi - ref[s]![i]!)).toBeLessThan(2e-6));
      tf.dispose([g, ...cand]);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(opt.t).toBe(6);
    opt.dispose();
    x.dispose();
  }

  for (const backend of ['wasm', 'cpu']) {
    it(`${backend}: follows the float64 reference step for step (weight decay on), candidate() is the step it then takes`, async () => {
      await tf.setBackend(backend);
      followsReference({ lr: cfg.lr, weightDecay: cfg.wd }, reference(x0, grad, 6, cfg));
    });

    it(`${backend}: decoupled (AdamW) follows torch.optim.AdamW's float64 reference; candidate() is its step`, async () => {
      await tf.setBackend(backend);
      const o = { ...cfg, wd: 0.1, decoupled: true };
      const ref = reference(x0, grad, 6, o);
      followsReference({ lr: o.lr, weightDecay: o.wd, decoupled: true }, ref);
      // the decay really acted: the trajectory differs from Adam without decay
      const plain = reference(x0, grad, 6, { ...o, wd: 0 });
      expect(Math.max(...ref[5]!.map((r, i) => Math.abs(r - plain[5]![i]!)))).toBeGreaterThan(1e-3);
    });
  }

  it('a null gradient leaves its variable alone; a step at another lr uses it; state() → restore() continues identically', async () => {
    await tf.setBackend('wasm');
    const a = tf.variable(tf.tensor1d([1, 2]));
    const b = tf.variable(tf.tensor1d([3, 4]));
    const opt = new Adam([a, b], { lr: 0.1 });
    opt.step([tf.tensor1d([1, -1]), null], 0.5);
    expect(Array.from(b.dataSync())).toEqual([3, 4]);
    // first step: Δ = −lr · sign(g) (up to ε)
    Array.from(a.dataSync()).forEach((x, i) => expect(x).toBeCloseTo([0.5, 2.5][i]!, 5));
    const saved = opt.state('s/');
    const copy = Object.fromEntries(Object.entries(saved.tensors).map(([k, t]) => [k, tf.clone(t)]));
    const a0 = Array.from(a.dataSync());
    opt.step([tf.tensor1d([0.3, 0.2]), tf.tensor1d([1, 1])]);
    const after = Array.from(a.dataSync());
    a.assign(tf.tensor1d(a0));
    b.assign(tf.tensor1d([3, 4]));
    opt.restore('s/', copy, saved.t);
    opt.step([tf.tensor1d([0.3, 0.2]), tf.tensor1d([1, 1])]);
    expect(Array.from(a.dataSync())).toEqual(after);
    expect(() => opt.step([tf.tensor1d([1, 1])])).toThrow(/2 variables got 1 gradients/);
    expect(() => new Adam([a], { lr: 0 })).toThrow(/lr/);
    expect(() => opt.restore('s/', { 's/m.0': tf.zeros([3]) }, 1)).toThrow(/shape/);
    opt.dispose();
    tf.dispose([a, b, ...Object.values(copy)]);
  });
});

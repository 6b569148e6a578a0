// Test-only helpers shared by the nets test files (not exported from index.ts).
import { expect } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, targetVariance, type ParamSpec, type Weights } from '@hypernets/core';
import type { HyperNet } from '../hypernet.js';

/** Largest absolute entry-wise difference of two tensors. */
export const maxAbs = (a: tf.Tensor, b: tf.Tensor): number =>
  tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

/** Anything with trainable variables in ParamSpec order (a HyperNet, a wrapper). */
export interface Trainable {
  readonly params: readonly ParamSpec[];
  trainableVariables(): tf.Variable[];
}

/**
 * Central finite differences on a few entries of every variable vs tf.variableGrads.
 * `loss` must be deterministic (seed any noise inside it). Returns the worst relative error.
 */
export function checkGradients(h: Trainable, loss: () => tf.Scalar, entries = 4, eps = 1e-2): number {
  const vars = h.trainableVariables();
  const { grads, value } = tf.variableGrads(loss, vars);
  value.dispose();
  let worst = 0;
  vars.forEach((v, vi) => {
    const g = grads[v.name]!.dataSync();
    const orig = v.dataSync().slice();
    for (let e = 0; e < entries; e++) {
      const idx = ((e * 7919 + vi * 104729) % orig.length) % orig.length;
      const at = (d: number) => {
        const vals = orig.slice();
        vals[idx]! += d;
        tf.tidy(() => v.assign(tf.tensor(vals, v.shape)));
        return tf.tidy(() => loss().dataSync()[0]!);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      tf.tidy(() => v.assign(tf.tensor(orig, v.shape)));
      const err = Math.abs(fd - g[idx]!);
      worst = Math.max(worst, err / (Math.abs(fd) + 1e-3));
      expect(err, `${h.params[vi]!.name}[${idx}]: fd ${fd} vs grad ${g[idx]}`).toBeLessThan(2e-2 * Math.abs(fd) + 2e-3);
    }
  });
  tf.dispose(Object.values(grads));
  return worst;
}

export type InitStats = Record<string, { mean: number; variance: number }>;

/** Per ParamSpec: mean (over seeds × conditions) of the generated tensor's mean and variance. */
export function measure(
  make: (seed: number) => HyperNet,
  specs: readonly ParamSpec[],
  seeds: number[],
  ids: number[],
): InitStats {
  const acc: InitStats = {};
  for (const s of specs) acc[s.name] = { mean: 0, variance: 0 };
  const k = seeds.length * ids.length;
  for (const seed of seeds) {
    const h = make(seed);
    const w = h.generate({ id: ids });
    for (const s of specs) {
      const axes = s.shape.map((_, i) => i + 1);
      const { mean, variance } = tf.moments(w[s.name]!, axes);
      const m = mean.dataSync();
      const v = variance.dataSync();
      for (let i = 0; i < ids.length; i++) {
        acc[s.name]!.mean += m[i]! / k;
        acc[s.name]!.variance += v[i]! / k;
      }
      tf.dispose([mean, variance]);
    }
    tf.dispose(Object.values(w));
    h.dispose();
  }
  return acc;
}

export interface InitRow {
  name: string;
  kind: string;
  ratio: number;
  mean: number;
  variance: number;
}

/** Logs generated vs target-init variance per tensor; rows for `expectHyperfan`. */
export function report(label: string, specs: readonly ParamSpec[], acc: InitStats): InitRow[] {
  const rows = specs.map((s) => {
    const tv = targetVariance(s);
    return {
      name: s.name,
      kind: s.kind,
      ratio: tv > 0 ? acc[s.name]!.variance / tv : NaN,
      mean: acc[s.name]!.mean,
      variance: acc[s.name]!.variance,
    };
  });
  console.log(
    `${label}\n` +
      rows
        .map(
          (r) =>
            `  ${r.name} (${r.kind}): var/target=${r.ratio.toFixed(3)} mean=${r.mean.toFixed(4)} var=${r.variance.toExponential(2)}`,
        )
        .join('\n'),
  );
  return rows;
}

/** Every tensor within 20% of its target-init variance; constant-init kinds at their constant. */
export function expectHyperfan(rows: readonly InitRow[], small: number): void {
  // Constant-init kinds (bias, norm): pooled per kind, since a 16-entry tensor's sample
  // variance alone is too noisy for a 20% bound.
  const pooled: Record<string, { v: number; n: number }> = {};
  for (const r of rows) {
    if (Number.isFinite(r.ratio)) {
      expect(r.ratio, r.name).toBeGreaterThan(0.8);
      expect(r.ratio, r.name).toBeLessThan(1.2);
    } else {
      // mean is the target's constant (norm-scale 1, bias/shift 0), variance the small one
      expect(Math.abs(r.mean - (r.kind === 'norm-scale' ? 1 : 0)), r.name).toBeLessThan(0.02);
      const p = (pooled[r.kind] ??= { v: 0, n: 0 });
      p.v += r.variance;
      p.n++;
    }
  }
  for (const [kind, p] of Object.entries(pooled)) {
    const ratio = p.v / p.n / small;
    console.log(`  ${kind} (pooled over ${p.n} tensors): var/smallVariance = ${ratio.toFixed(3)}`);
    expect(ratio, kind).toBeGreaterThan(0.8);
    expect(ratio, kind).toBeLessThan(1.2);
  }
}

/**
 * The per-sample contract: `generate({ id: ids })` and one batched pass `run(x, w, B)` equal,
 * sample by sample, `run(x_i, generate({ id: ids[i] }), null)`; the batched weights equal the
 * single ones. Returns the batched weights (the caller disposes them).
 */
export function expectPerSample(
  h: HyperNet,
  ids: readonly number[],
  x: tf.Tensor,
  run: (x: tf.Tensor, w: Weights, batch: number | null) => tf.Tensor,
): Weights {
  const w = h.generate({ id: ids });
  const yb = run(x, w, ids.length);
  ids.forEach((id, i) => {
    const wi = h.generate({ id });
    const yi = tf.tidy(() => run(tf.slice(x, [i], [1]), wi, null));
    expect(maxAbs(yi, tf.slice(yb, [i], [1]))).toBeLessThan(1e-5);
    for (const s of h.targetParams)
      expect(maxAbs(wi[s.name]!, tf.squeeze(tf.slice(w[s.name]!, [i], [1]), [0])), s.name).toBeLessThan(1e-6);
    tf.dispose([...Object.values(wi), yi]);
  });
  yb.dispose();
  return w;
}

/** The `field` of the ConfigError `f` throws (fails when it throws something else or nothing). */
export function configErrorField(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).field;
  }
  throw new Error('expected a ConfigError');
}

import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ppoLoss, type PpoMinibatch } from './loss.js';

beforeAll(async () => {
  await initBackend('cpu');
});

// A batch of 4 written out: log-ratios 0.1, 0, −0.5, 0.3.
const newLogProb = [-1, -0.5, -2, -0.1];
const oldLogProb = [-1.1, -0.5, -1.5, -0.4];
const adv = [1, -1, 2, -0.5];
const returns = [1, 0, 2, -1];
const oldValues = [0.5, 0.1, 1.5, -0.2];
const newValues = [0.9, -0.05, 1.6, -0.5];
const entropy = [0.6, 0.7, 0.5, 0.4];

function batch(): PpoMinibatch {
  const t = tf.tensor1d;
  return {
    newLogProb: t(newLogProb),
    oldLogProb: t(oldLogProb),
    advantages: t(adv),
    returns: t(returns),
    oldValues: t(oldValues),
    newValues: t(newValues),
    entropy: t(entropy),
  };
}

async function terms(options: Parameters<typeof ppoLoss>[1]) {
  const mb = batch();
  const r = ppoLoss(mb, options);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(r)) out[k] = (await v.data())[0]!;
  tf.dispose([...Object.values(mb), ...Object.values(r)]);
  return out;
}

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('ppoLoss against a hand-computed batch', () => {
  const ratio = newLogProb.map((n, i) => Math.exp(n - oldLogProb[i]!)); // 1.10517, 1, 0.60653, 1.34986
  const clip = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);

  it('clipped surrogate, clipped value loss, entropy, approx KL and clip fraction (no advantage normalisation)', async () => {
    const r = await terms({ normAdv: false, clipCoef: 0.2, entCoef: 0.01, vfCoef: 0.5, clipVloss: true });
    // max(−A·r, −A·clip(r, 0.8, 1.2)) per sample: −1.10517, 1, −1.21306 (r = 0.607 < 0.8 but A > 0: unclipped), 0.67493
    const pg = [-1.1051709, 1, -1.2130613, 0.6749294];
    expect(r.pgLoss).toBeCloseTo(meanOf(pg), 5);
    // value: unclipped (V − R)²: 0.01, 0.0025, 0.16, 0.25; clipped V_old + clip(V − V_old, ±0.2):
    // 0.7, −0.05, 1.6, −0.4 → (V − R)²: 0.09, 0.0025, 0.16, 0.36; max: 0.09, 0.0025, 0.16, 0.36
    const vl = 0.5 * meanOf([0.09, 0.0025, 0.16, 0.36]);
    expect(r.vLoss).toBeCloseTo(vl, 6);
    expect(r.entropy).toBeCloseTo(0.55, 6);
    expect(r.loss).toBeCloseTo(meanOf(pg) - 0.01 * 0.55 + 0.5 * vl, 5);
    const logr = [0.1, 0, -0.5, 0.3];
    expect(r.oldApproxKl).toBeCloseTo(meanOf(logr.map((x) => -x)), 6);
    expect(r.approxKl).toBeCloseTo(meanOf(logr.map((x) => Math.exp(x) - 1 - x)), 6);
    expect(r.clipFraction).toBeCloseTo(0.5, 6); // |r − 1| > 0.2 for samples 2 and 3
    // the same surrogate from the ratios directly
    expect(r.pgLoss).toBeCloseTo(meanOf(ratio.map((q, i) => Math.max(-adv[i]! * q, -adv[i]! * clip(q, 0.8, 1.2)))), 5);
  });

  it('normalises advantages per minibatch with the unbiased std (torch’s .std()), and the unclipped value loss', async () => {
    const r = await terms({ normAdv: true, clipVloss: false, entCoef: 0, vfCoef: 1 });
    const m = meanOf(adv);
    const sd = Math.sqrt(adv.reduce((a, x) => a + (x - m) ** 2, 0) / (adv.length - 1));
    const nadv = adv.map((a) => (a - m) / (sd + 1e-8));
    const pg = meanOf(ratio.map((q, i) => Math.max(-nadv[i]! * q, -nadv[i]! * clip(q, 0.8, 1.2))));
    expect(r.pgLoss).toBeCloseTo(pg, 5);
    expect(r.vLoss).toBeCloseTo(0.5 * meanOf([0.01, 0.0025, 0.16, 0.25]), 6);
    expect(r.loss).toBeCloseTo(pg + r.vLoss!, 5);
  });

  it('its gradient is the surrogate’s where unclipped and zero where the clip binds', async () => {
    const old = tf.tensor1d(oldLogProb);
    const advG = [1, -1, 2, 0.5]; // sample 3: A > 0 and r = 1.35 > 1.2, so the clipped term is the max
    const a = tf.tensor1d(advG);
    const rest = { returns: tf.tensor1d(returns), oldValues: tf.tensor1d(oldValues), entropy: tf.tensor1d(entropy) };
    const g = tf.grad(
      (lp: tf.Tensor) =>
        ppoLoss(
          { newLogProb: lp, oldLogProb: old, advantages: a, newValues: rest.oldValues, ...rest },
          { normAdv: false, entCoef: 0, vfCoef: 0 },
        ).loss,
    )(tf.tensor1d(newLogProb));
    const d = await g.data();
    // d/dlog π of −A·r/4 is −A·r/4 where unclipped (samples 0, 1, 2); sample 3 is clipped: 0
    for (let i = 0; i < 3; i++) expect(d[i]).toBeCloseTo((-advG[i]! * ratio[i]!) / 4, 5);
    expect(d[3]).toBeCloseTo(0, 6);
    tf.dispose([old, a, g, ...Object.values(rest)]);
  });
});

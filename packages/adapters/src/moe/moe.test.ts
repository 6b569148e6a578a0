// The mixture-of-experts layer, its routers and the char-LM against hand computations, the dense
// mixture, finite differences and their reference code's rules (cpu backend).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Adam, Rng, TransformerEncoder, forwardRecorded, initBackend, type Weights } from '@hypernets/core';
import { dispatchPlan, topKAt } from './dispatch.js';
import { MoeFeedForward } from './layer.js';
import { MoeLanguageModel } from './lm.js';
import { MoeLmTrainer } from './trainer.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

beforeAll(async () => {
  await initBackend('cpu');
});

type M = number[][];
const mm = (a: M, b: M): M => a.map((r) => b[0]!.map((_, j) => r.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

/** One encoder block whose MLP is `moe`: a bare host for the layer (attention and LN kept out of the way). */
function moeWeights(moe: MoeFeedForward, d: number, seed: number): Weights {
  const rng = new Rng(seed);
  const w: Weights = {};
  for (const s of moe.specs('m', d, 0)) w[s.name] = tf.tensor(rng.normalArray([...s.shape], 0, 0.7), [...s.shape]);
  return w;
}

/** Runs the layer on x [N, T, d] with its routes read back, then replays them; both outputs. */
async function runLayer(moe: MoeFeedForward, x: tf.Tensor, w: Weights, options = {}) {
  const net = {
    name: 'host',
    params: moe.specs('m', x.shape[2]!, 0),
    inputShape: [],
    outputShape: [],
    forward: () => {
      throw new Error('invariant: not used');
    },
    forwardStaged: (xx: tf.Tensor, ww: Weights) => moe.forward(xx, (n) => ww[n]!, 'm', options, false),
  };
  return forwardRecorded(net, x, w);
}

/** Plain JS: top-k by logit (ties to the lower index), softmax over the kept logits, ReLU experts. */
function reference(x: M, w: Record<string, number[] | M | M[]>, k: number): M {
  const wr = w['m.router.weight'] as M;
  const br = w['m.router.bias'] as number[];
  const w1 = w['m.experts.fc1.weight'] as M[];
  const b1 = w['m.experts.fc1.bias'] as unknown as M;
  const w2 = w['m.experts.fc2.weight'] as M[];
  const b2 = w['m.experts.fc2.bias'] as unknown as M;
  return x.map((row) => {
    const z = mm([row], wr)[0]!.map((v, e) => v + br[e]!);
    const top = z
      .map((v, e) => [v, e] as const)
      .sort((a, b) => b[0] - a[0] || a[1] - b[1])
      .slice(0, k);
    const mx = Math.max(...top.map((t) => t[0]));
    const ex = top.map((t) => Math.exp(t[0] - mx));
    const sum = ex.reduce((a, b) => a + b, 0);
    const out = new Array(row.length).fill(0) as number[];
    top.forEach(([, e], j) => {
      const h = mm([row], w1[e]!)[0]!.map((v, i) => Math.max(0, v + b1[e]![i]!));
      const y = mm([h], w2[e]!)[0]!.map((v, i) => v + b2[e]![i]!);
      y.forEach((v, i) => (out[i]! += (ex[j]! / sum) * v));
    });
    return out;
  });
}

describe('dispatchPlan', () => {
  it('sorts (token, slot) pairs by expert, stable in token order, and inverts', () => {
    // 3 tokens, k = 2, 4 experts: token 0 → (2, 0), token 1 → (0, 3), token 2 → (2, 1)
    const p = dispatchPlan(Int32Array.from([2, 0, 0, 3, 2, 1]), 3, 2, 4);
    expect(Array.from(p.counts)).toEqual([2, 1, 2, 1]);
    expect(Array.from(p.offsets)).toEqual([0, 2, 3, 5]);
    expect(Array.from(p.order)).toEqual([0, 1, 2, 0, 2, 1]);
    expect(Array.from(p.inverse)).toEqual([3, 0, 1, 5, 4, 2]);
    expect(Array.from(p.pairs)).toEqual([1, 2, 5, 0, 4, 3]);
    expect(Array.from(p.logitIndex)).toEqual([2, 0, 4, 7, 10, 9]);
    expect(() => dispatchPlan(Int32Array.from([4, 0]), 1, 2, 4)).toThrow(/not an expert/);
    expect(() => dispatchPlan(Int32Array.from([1]), 1, 2, 4)).toThrow(/expected 1·2/);
  });

  it("k rises linearly as the reference code's linear_increase: clip(round((end − start)·t/T) + start)", () => {
    const ks = [0, 1, 24_999, 25_000, 75_000, 200_000, 374_999, 375_000, 400_000].map((t) => topKAt(t, 400_000, 8, 16));
    expect(ks).toEqual([8, 8, 8, 9, 10, 12, 15, 16, 16]);
    expect(topKAt(10, 0, 2, 4)).toBe(4);
    expect(topKAt(500, 100, 1, 4)).toBe(4);
  });
});

describe('MoeFeedForward', () => {
  it('routes each token to its top-k experts with the softmax over the kept logits (hand computation)', async () => {
    const moe = new MoeFeedForward({ experts: 4, hidden: 3, topK: 2 });
    const w = moeWeights(moe, 5, 1);
    const x = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 2);
    const { output, log } = await runLayer(moe, x, w);
    const ref = reference(
      (x.arraySync() as number[][][]).flat(),
      Object.fromEntries(Object.entries(w).map(([k, v]) => [k, v.arraySync() as never])),
      2,
    );
    expect(maxDiff(tf.reshape(output, [6, 5]), tf.tensor2d(ref))).toBeLessThan(1e-5);
    // The ids read back are the reference's top-2 per token.
    expect(log.entries[0]!.values[0]!.length).toBe(12);
    expect(moe.lastStats!.tokens).toBe(6);
    expect(Array.from(moe.lastStats!.counts).reduce((a, b) => a + b, 0)).toBe(12);
    tf.dispose([x, output, ...Object.values(w)]);
  });

  it('with k = E equals the dense softmax mixture of all experts', async () => {
    const moe = new MoeFeedForward({ experts: 3, hidden: 4, topK: 3 });
    const w = moeWeights(moe, 6, 3);
    const x = tf.randomNormal([2, 4, 6], 0, 1, 'float32', 4);
    const { output } = await runLayer(moe, x, w);
    const dense = tf.tidy(() => {
      const xf = tf.reshape(x, [8, 6]);
      const p = tf.softmax(tf.add(tf.matMul(xf, w['m.router.weight']!), w['m.router.bias']!));
      const ys = [0, 1, 2].map((e) => {
        const g = (n: string) => tf.squeeze(tf.slice(w[n]!, [e], [1]), [0]);
        const h = tf.relu(tf.add(tf.matMul(xf, g('m.experts.fc1.weight')), g('m.experts.fc1.bias')));
        return tf.mul(
          tf.add(tf.matMul(h, g('m.experts.fc2.weight')), g('m.experts.fc2.bias')),
          tf.slice(p, [0, e], [8, 1]),
        );
      });
      return tf.reshape(tf.addN(ys), [2, 4, 6]);
    });
    expect(maxDiff(output, dense)).toBeLessThan(1e-5);
    // Stats: every expert gets every token; the entropy is that of the full softmax.
    expect(Array.from(moe.lastStats!.counts)).toEqual([8, 8, 8]);
    tf.dispose([x, output, dense, ...Object.values(w)]);
  });

  it('gradients through the replayed routes equal finite differences', async () => {
    const moe = new MoeFeedForward({ experts: 4, hidden: 3, topK: 2 });
    const w = moeWeights(moe, 4, 5);
    const x = tf.randomNormal([1, 5, 4], 0, 1, 'float32', 6);
    const { output, log } = await runLayer(moe, x, w);
    output.dispose();
    const f = (ww: Weights) =>
      tf.tidy(() => {
        const gen = moe.forward(x, (n) => ww[n]!, 'm', {}, false);
        let r = gen.next();
        let i = 0;
        while (!r.done) r = gen.next(log.entries[i++]!.values);
        return tf.sum(tf.mul(r.value, tf.reshape(tf.linspace(-1, 1, 20), [1, 5, 4])));
      }) as tf.Scalar;
    const names = Object.keys(w);
    const grads = tf.grads((...ts: tf.Tensor[]) => f(Object.fromEntries(names.map((n, i) => [n, ts[i]!]))))(
      names.map((n) => w[n]!),
    );
    const eps = 1e-2;
    let worst = 0;
    for (let i = 0; i < names.length; i++) {
      const flat = w[names[i]!]!.dataSync();
      const g = grads[i]!.dataSync();
      for (const j of [0, Math.floor(flat.length / 2), flat.length - 1]) {
        const at = (delta: number) => {
          const v = Float32Array.from(flat);
          v[j]! += delta;
          const t = tf.tensor(v, w[names[i]!]!.shape);
          const y = f({ ...w, [names[i]!]: t }).dataSync()[0]!;
          t.dispose();
          return y;
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        worst = Math.max(worst, Math.abs(fd - g[j]!) / Math.max(1, Math.abs(fd)));
      }
    }
    expect(worst).toBeLessThan(2e-2);
    // The router receives a gradient through the gates (k = 2 > 1).
    expect(tf.sum(tf.abs(grads[0]!)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, ...grads, ...Object.values(w)]);
  });

  it('adds the load-balancing loss E·Σ f_e·P̄_e (hand computation)', async () => {
    const moe = new MoeFeedForward({ experts: 3, hidden: 2, topK: 1, loadBalance: 0.5 });
    const w = moeWeights(moe, 4, 7);
    const x = tf.randomNormal([1, 6, 4], 0, 1, 'float32', 8);
    const aux: tf.Tensor[] = [];
    const { output } = await runLayer(moe, x, w, { training: true, auxLosses: aux });
    const z = tf.add(tf.matMul(tf.reshape(x, [6, 4]), w['m.router.weight']!), w['m.router.bias']!).arraySync() as M;
    const p = z.map((r) => {
      const e = r.map((v) => Math.exp(v - Math.max(...r)));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / s);
    });
    const f = [0, 0, 0];
    for (const r of z) f[r.indexOf(Math.max(...r))]! += 1 / 6;
    const pm = [0, 1, 2].map((e) => p.reduce((a, r) => a + r[e]!, 0) / 6);
    const want = 0.5 * 3 * f.reduce((a, v, e) => a + v * pm[e]!, 0);
    expect(aux).toHaveLength(1);
    expect(aux[0]!.dataSync()[0]).toBeCloseTo(want, 5);
    tf.dispose([x, output, ...aux, ...Object.values(w)]);
  });

  it('refuses a bad k and per-sample weights', () => {
    const moe = new MoeFeedForward({ experts: 4, hidden: 3, topK: 2 });
    expect(() => (moe.topK = 5)).toThrow(/\[1, 4\]/);
    expect(() => (moe.topK = 0)).toThrow(/\[1, 4\]/);
    moe.topK = 4;
    expect(moe.topK).toBe(4);
    expect(() => new MoeFeedForward({ experts: 2, hidden: 3, topK: 3 })).toThrow(/\[1, 2\]/);
    const gen = moe.forward(tf.zeros([1, 2, 4]), () => tf.zeros([1]), 'm', {}, true);
    expect(() => gen.next()).toThrow(/shared weights only/);
  });
});

describe('routers and the MoE language model', () => {
  const small = {
    dModel: 8,
    numHeads: 2,
    numBlocks: 2,
    seqLength: 6,
    experts: 4,
    expertHidden: 3,
    hyperSize: 5,
    topK: 2,
  };

  it("HyperRouter's router is [W_r | b_r] = reshape(H(e), [E, d + 1]) (hand computation)", () => {
    const lm = new MoeLanguageModel({ router: 'hyperrouter', ...small, seed: 3 });
    const v = (n: string) => lm.variables[`moe.1.hyperrouter.${n}`]!.arraySync() as never;
    const e = v('embedding') as number[];
    const h = mm([e], v('fc1.weight'))[0]!.map((x, i) => Math.max(0, x + (v('fc1.bias') as number[])[i]!));
    const theta = mm([h], v('fc2.weight'))[0]!.map((x, i) => x + (v('fc2.bias') as number[])[i]!);
    const r = lm.router!.weights(1);
    const wr = r.weight.arraySync() as M; // [d, E]
    const br = r.bias.arraySync() as number[];
    for (let ex = 0; ex < 4; ex++) {
      for (let i = 0; i < 8; i++) expect(wr[i]![ex]).toBeCloseTo(theta[ex * 9 + i]!, 6);
      expect(br[ex]).toBeCloseTo(theta[ex * 9 + 8]!, 6);
    }
    expect(lm.trainable.filter((n) => n.includes('hyperrouter'))).toEqual([
      'moe.0.hyperrouter.embedding',
      'moe.1.hyperrouter.embedding',
    ]);
    tf.dispose([r.weight, r.bias]);
    lm.dispose();
  });

  for (const router of ['smoe', 'smoe-dropout', 'hyperrouter', 'dense'] as const)
    it(`${router}: trains (loss falls), only its trainable variables move, no tensor leaks`, async () => {
      const lm = new MoeLanguageModel({ router, ...small, seed: 1 });
      const names = lm.trainable;
      const vars = names.map((n) => lm.variables[n]!);
      const frozen = Object.keys(lm.variables).filter((n) => !names.includes(n));
      const before = Object.fromEntries(frozen.map((n) => [n, lm.variables[n]!.clone()]));
      const opt = new Adam(vars, { lr: 1e-2 });
      // A periodic sequence: easy to learn.
      const seq = Array.from({ length: 4 * 7 }, (_, i) => (i * 5) % 7);
      const inputs = tf.tensor2d([seq.slice(0, 6), seq.slice(7, 13), seq.slice(3, 9)], [3, 6], 'int32');
      const targets = tf.tensor2d([seq.slice(1, 7), seq.slice(8, 14), seq.slice(4, 10)], [3, 6], 'int32');
      const losses: number[] = [];
      let count = 0;
      for (let step = 0; step < 25; step++) {
        const { log } = await lm.record(inputs);
        const { value, grads } = tf.variableGrads(() => lm.loss(inputs, targets, log), vars);
        opt.step(
          vars.map((v) => grads[v.name] ?? null),
          1e-2,
        );
        losses.push(value.dataSync()[0]!);
        tf.dispose([value, ...Object.values(grads)]);
        if (step === 1) count = tf.memory().numTensors;
        if (step > 1) expect(tf.memory().numTensors).toBe(count);
      }
      expect(losses[24]!).toBeLessThan(0.5 * losses[0]!);
      for (const n of frozen) expect(maxDiff(before[n]!, lm.variables[n]!)).toBe(0);
      if (router === 'hyperrouter') {
        expect(frozen.some((n) => n.endsWith('fc2.weight'))).toBe(true);
        expect(names.some((n) => n.endsWith('embedding'))).toBe(true);
      }
      if (router === 'smoe-dropout') expect(frozen).toEqual(expect.arrayContaining(['moe.0.router.weight']));
      tf.dispose([inputs, targets, ...Object.values(before)]);
      opt.dispose();
      lm.dispose();
    });

  it('evaluates the summed cross-entropy at any k; the dense model has E·h-wide ReLU MLPs', async () => {
    const lm = new MoeLanguageModel({ router: 'smoe', ...small, seed: 2 });
    const inputs = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
    const targets = tf.tensor2d([[2, 3, 4, 5, 6, 7]], [1, 6], 'int32');
    const { log } = await lm.record(inputs);
    const mean = lm.loss(inputs, targets, log);
    const { nats, stats } = await lm.evaluate(inputs, targets);
    expect(nats / 6).toBeCloseTo(mean.dataSync()[0]!, 4);
    expect(stats).toHaveLength(2);
    lm.setTopK(4);
    const all = await lm.evaluate(inputs, targets);
    expect(Array.from(all.stats[0]!.counts)).toEqual([6, 6, 6, 6]);
    expect(() => lm.setTopK(5)).toThrow(/\[1, 4\]/);
    const dense = new MoeLanguageModel({ router: 'dense', ...small });
    expect(dense.variables['blocks.0.mlp.fc1.weight']!.shape).toEqual([8, 12]);
    const c = lm.paramCounts(2);
    // Per block: the router (d·E + E) and E output biases instead of one; the experts' weights equal the wide MLP's.
    expect(c.total).toBe(dense.paramCounts().total + 2 * (8 * 4 + 4) + 2 * (4 * 8 - 8));
    expect(c.activePerToken).toBe(c.total - 2 * ((4 * 8 * 3 * 2 + 4 * 3 + 4 * 8) / 2));
    tf.dispose([inputs, targets, mean]);
    lm.dispose();
    dense.dispose();
  });

  it('refuses unknown options', () => {
    expect(() => new MoeLanguageModel({ router: 'switch' as never })).toThrow(/router/);
    expect(() => new MoeLanguageModel({ router: 'smoe', experts: 0 })).toThrow(/experts/);
    expect(() => new MoeLanguageModel({ router: 'smoe', colour: 1 } as never)).toThrow(/colour/);
    void TransformerEncoder;
  });
});

describe('model lifetime', () => {
  for (const router of ['smoe', 'smoe-dropout', 'hyperrouter', 'dense'] as const)
    it(`${router}: building and disposing a model leaves no tensor`, () => {
      const before = tf.memory().numTensors;
      const lm = new MoeLanguageModel({
        router,
        dModel: 8,
        numHeads: 2,
        numBlocks: 2,
        seqLength: 6,
        experts: 4,
        expertHidden: 3,
        hyperSize: 5,
      });
      lm.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
});

describe('MoeLmTrainer', () => {
  const corpus = (() => {
    // A periodic "text" with some noise: learnable, not trivial.
    const rng = new Rng(7);
    const make = (n: number) =>
      Uint8Array.from({ length: n }, (_, i) => (rng.uniform() < 0.1 ? rng.int(0, 26) : (i * 7) % 27));
    return { train: make(4000), valid: make(600), test: make(600) };
  })();
  const small = { dModel: 8, numHeads: 2, numBlocks: 2, seqLength: 12, experts: 4, expertHidden: 6, hyperSize: 5 };
  const opts = {
    steps: 8,
    batchSize: 4,
    lr: 1e-2,
    evalEvery: 4,
    evalSymbols: 240,
    testSymbols: 240,
    seed: 2,
    logEvery: 1,
  };

  it('follows the k schedule, validates at evalK, tests BPC at each k with routing statistics', async () => {
    const model = new MoeLanguageModel({ router: 'hyperrouter', ...small, seed: 1 });
    const ks: (number | null)[] = [];
    const t = new MoeLmTrainer({
      model,
      corpus,
      ...opts,
      kStart: 2,
      kEnd: 4,
      testK: [1, 2, 4],
      callbacks: { onStep: (e) => void ks.push(e.k) },
    });
    const r = await t.run();
    expect(ks).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((s) => topKAt(s - 1, 8, 2, 4)));
    expect(r.evals.map((e) => e.step)).toEqual([4, 8]);
    expect(r.valBpc).toBe(Math.min(...r.evals.map((e) => e.bpc)));
    expect(Object.keys(r.bpc)).toEqual(['1', '2', '4']);
    for (const test of r.tests) {
      expect(test.usage).toHaveLength(2);
      for (const u of test.usage) expect(u.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
      expect(test.routerEntropy).toBeGreaterThan(0);
      expect(test.routerEntropy).toBeLessThanOrEqual(Math.log(4) + 1e-6);
    }
    // At k = E every expert sees every token.
    for (const u of r.tests.find((x) => x.k === 4)!.usage) for (const v of u) expect(v).toBeCloseTo(0.25, 6);
    // The test BPC at the evaluation k equals a fresh evaluation with the best variables.
    const again = await t.bitsPerChar('test', 240, 2);
    expect(again.bpc).toBeCloseTo(r.bpc['2']!, 6);
    expect(t.lrAt(1)).toBeCloseTo(1e-2, 12);
    expect(t.lrAt(5)).toBeCloseTo(0.5 * 1e-2 * (1 + Math.cos(Math.PI / 2)), 12);
    t.dispose();
    model.dispose();
  });

  it('a resumed run ends with the numbers of one that never stopped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'moe-lm-'));
    try {
      const a = new MoeLanguageModel({ router: 'smoe', ...small, seed: 3 });
      const full = await new MoeLmTrainer({ model: a, corpus, ...opts }).run();
      const b = new MoeLanguageModel({ router: 'smoe', ...small, seed: 3 });
      const killed = new MoeLmTrainer({
        model: b,
        corpus,
        ...opts,
        checkpointDir: dir,
        checkpointEvery: 3,
        callbacks: {
          onStep: (e) => {
            if (e.step === 5) throw new Error('killed');
          },
        },
      });
      await expect(killed.run()).rejects.toThrow('killed');
      const c = new MoeLanguageModel({ router: 'smoe', ...small, seed: 99 });
      const resumed = await new MoeLmTrainer({ model: c, corpus, ...opts, checkpointDir: dir, checkpointEvery: 3 }).run(
        { resume: true },
      );
      expect(resumed.curve).toEqual(full.curve);
      expect(resumed.evals).toEqual(full.evals);
      expect(resumed.bpc).toEqual(full.bpc);
      for (const n of Object.keys(a.variables))
        expect(Array.from(c.variables[n]!.dataSync()), n).toEqual(Array.from(a.variables[n]!.dataSync()));
      [a, b, c].forEach((m) => m.dispose());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

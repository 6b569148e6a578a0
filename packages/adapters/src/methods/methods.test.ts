// The adapter op and the methods against hand computations, finite differences and each other,
// on a tiny encoder of the backbone's shape (cpu backend).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, initBackend } from '@hypernets/core';
import { adapterSpecs, applyAdapter, type AdapterShape } from '../adapter.js';
import { AdapterModel } from '../model.js';
import { TINY_DIMS, tinyBackbone } from '../testing/tiny.js';
import { HyperAdapters } from './hyperformer.js';
import { PerTaskAdapters } from './adapters.js';
import type { Backbone } from './method.js';

type M = number[][];
const mm = (a: M, b: M): M => a.map((r) => b[0]!.map((_, j) => r.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const addRow = (a: M, b: number[]): M => a.map((r) => r.map((v, j) => v + b[j]!));
const ln = (a: M, g: number[], b: number[], eps: number): M =>
  a.map((r) => {
    const mean = r.reduce((s, v) => s + v, 0) / r.length;
    const variance = r.reduce((s, v) => s + (v - mean) ** 2, 0) / r.length;
    return r.map((v, j) => ((v - mean) / Math.sqrt(variance + eps)) * g[j]! + b[j]!);
  });
const geluTanh = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
const arr = (t: tf.Tensor) => t.arraySync() as never;
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

let backbone: Backbone & { dispose(): void };
beforeAll(async () => {
  await initBackend('cpu');
  backbone = tinyBackbone();
});
afterAll(() => backbone?.dispose());

describe('applyAdapter', () => {
  for (const [label, pre, post] of [
    ['pre-norm (the per-task baseline)', true, false],
    ['post-norm (HyperFormer’s)', false, true],
  ] as const)
    it(`equals a plain-JS computation: ${label}; per-sample weights run sample i with set i`, () => {
      const shape: AdapterShape = { width: 6, bottleneck: 3, preNorm: pre, postNorm: post, activation: 'gelu-tanh' };
      const specs = adapterSpecs('site.', shape);
      const rng = new Rng(7);
      const sets = [0, 1].map(() => Object.fromEntries(specs.map((s) => [s.name, rng.normal([...s.shape], 0, 0.7)])));
      const y = rng.normal([2, 3, 6]);
      const ref = (i: number): M => {
        const w = (n: string) => arr(sets[i]![`site.${n}`]!);
        let a: M = arr(y)[i];
        const y0 = a;
        if (pre) a = ln(a, w('pre_norm.weight'), w('pre_norm.bias'), 1e-5);
        const mid = addRow(mm(a, w('down.weight')), w('down.bias')).map((r) => r.map(geluTanh));
        let z = addRow(mm(mid, w('up.weight')), w('up.bias'));
        if (post) z = ln(z, w('post_norm.weight'), w('post_norm.bias'), 1e-5);
        return z.map((r, t) => r.map((v, j) => v + y0[t]![j]!));
      };
      const shared = applyAdapter(y, (n) => sets[0]![n]!, shape, 'site.');
      expect(maxDiff(tf.slice(shared, [0, 0, 0], [1, 3, 6]), tf.tensor([ref(0)]))).toBeLessThan(1e-5);
      // per-sample: every tensor stacked [2, …]
      const stacked = Object.fromEntries(specs.map((s) => [s.name, tf.stack([sets[0]![s.name]!, sets[1]![s.name]!])]));
      const per = applyAdapter(y, (n) => stacked[n]!, shape, 'site.');
      expect(maxDiff(per, tf.tensor([ref(0), ref(1)]))).toBeLessThan(1e-5);
      tf.dispose([y, shared, per, ...Object.values(stacked), ...sets.flatMap((s) => Object.values(s))]);
    });
});

describe('HyperAdapters', () => {
  const siteNames = ['layer0.attn', 'layer0.ffn', 'layer1.attn', 'layer1.ffn'];
  for (const [variant, factors] of [
    ['hyperformer', '[task], one generator per site'],
    ['hyperformer++', '[task; layer; block], one generator'],
    ['hyperx', '[task; domain; layer; block], one generator'],
  ] as const)
    it(`${variant} generates every site’s adapter from ${factors}, as the equations say`, () => {
      const h = new HyperAdapters(
        variant,
        { backbone, tasks: ['a', 'b', 'c'], domains: [0, 1, 0], rng: new Rng(3) },
        { embeddingDim: 5, hiddenDim: 7, projectedDim: 4, reductionFactor: 4 },
      );
      const v = (n: string) => arr(h.shared[`hyper.${n}`]!) as M;
      const vec = (n: string) => arr(h.shared[`hyper.${n}`]!) as number[];
      const task = 2;
      const domain = 1; // Hyper-X: a pair not in training (task c is in domain 0)
      const generated = h.generate(task, domain);
      // sites: layer0.attn (layer 0, block 1), layer0.ffn (0, 0), layer1.attn (1, 1), layer1.ffn (1, 0)
      const sites = [
        [0, 1],
        [0, 0],
        [1, 1],
        [1, 0],
      ];
      sites.forEach(([layer, block], i) => {
        const c = [[...v('task_embeddings')[task]!]];
        if (variant === 'hyperx') c[0]!.push(...v('domain_embeddings')[domain]!);
        if (variant !== 'hyperformer') c[0]!.push(...v('layer_embeddings')[layer!]!, ...v('block_embeddings')[block!]!);
        const mid = addRow(mm(c, v('projector.fc1.weight')), vec('projector.fc1.bias')).map((r) =>
          r.map((x) => Math.max(0, x)),
        );
        const z = addRow(mm(mid, v('projector.fc2.weight')), vec('projector.fc2.bias'));
        const hh = ln(z, vec('projector.norm.weight'), vec('projector.norm.bias'), 1e-6);
        const g = variant === 'hyperformer' ? `generator.${siteNames[i]}` : 'generator';
        const flat = addRow(mm(hh, v(`${g}.weight`)), vec(`${g}.bias`))[0]!;
        // ParamSpec order: down.weight [16, 4], down.bias [4], up.weight [4, 16], up.bias [16], post_norm γ, β [16]
        const d = TINY_DIMS.width;
        const r = d / 4;
        const sizes = {
          'down.weight': d * r,
          'down.bias': r,
          'up.weight': r * d,
          'up.bias': d,
          'post_norm.weight': d,
          'post_norm.bias': d,
        };
        let at = 0;
        for (const [name, n] of Object.entries(sizes)) {
          const got = Array.from(generated[i]![name]!.dataSync());
          const want = flat.slice(at, at + n);
          expect(got.length).toBe(n);
          expect(Math.max(...got.map((x, j) => Math.abs(x - want[j]!)))).toBeLessThan(1e-5);
          at += n;
        }
      });
      expect(h.perSite).toBe(TINY_DIMS.width * 4 * 2 + 4 + TINY_DIMS.width * 3);
      generated.forEach((x) => tf.dispose(Object.values(x)));
      h.dispose();
    });

  it('is deterministic per seed and task; tasks, layers and block types get different adapters', () => {
    const make = (seed: number) =>
      new HyperAdapters('hyperformer++', { backbone, tasks: ['a', 'b'], rng: new Rng(seed) });
    const [a, b, c] = [make(1), make(1), make(2)];
    const ga = a.generate(0);
    const gb = b.generate(0);
    const gc = c.generate(0);
    const g1 = a.generate(1);
    expect(maxDiff(ga[0]!['down.weight']!, gb[0]!['down.weight']!)).toBe(0);
    expect(maxDiff(ga[0]!['down.weight']!, gc[0]!['down.weight']!)).toBeGreaterThan(1e-4);
    expect(maxDiff(ga[0]!['down.weight']!, g1[0]!['down.weight']!)).toBeGreaterThan(1e-4); // task
    expect(maxDiff(ga[0]!['down.weight']!, ga[2]!['down.weight']!)).toBeGreaterThan(1e-4); // layer
    expect(maxDiff(ga[0]!['down.weight']!, ga[1]!['down.weight']!)).toBeGreaterThan(1e-4); // block type
    for (const g of [ga, gb, gc, g1]) g.forEach((x) => tf.dispose(Object.values(x)));
    [a, b, c].forEach((x) => x.dispose());
  });

  it('rescale multiplies every generated tensor by 1/√projectedDim (hyper-adapters)', () => {
    const plain = new HyperAdapters('hyperformer++', { backbone, tasks: ['a'], rng: new Rng(5) }, { projectedDim: 9 });
    const scaled = new HyperAdapters(
      'hyperformer++',
      { backbone, tasks: ['a'], rng: new Rng(5) },
      { projectedDim: 9, rescale: true },
    );
    const p = plain.generate(0);
    const s = scaled.generate(0);
    for (const name of Object.keys(p[0]!)) {
      const want = tf.mul(p[0]![name]!, 1 / 3);
      expect(maxDiff(s[0]![name]!, want)).toBeLessThan(1e-7);
      want.dispose();
    }
    for (const g of [p, s]) g.forEach((x) => tf.dispose(Object.values(x)));
    plain.dispose();
    scaled.dispose();
  });

  it('HyperFormer has one generator per site; Hyper-X generates for unseen (task, domain) pairs', () => {
    const hf = new HyperAdapters('hyperformer', { backbone, tasks: ['a', 'b'], rng: new Rng(1) });
    expect(Object.keys(hf.shared).filter((k) => k.endsWith('.weight') && k.includes('generator'))).toEqual(
      backbone.net.sublayers.map((s) => `hyper.generator.${s.name}.weight`),
    );
    expect(Object.keys(hf.shared)).not.toContain('hyper.layer_embeddings');
    hf.dispose();
    const hx = new HyperAdapters('hyperx', { backbone, tasks: ['a', 'b'], domains: [0, 1], rng: new Rng(1) });
    expect(hx.shared['hyper.domain_embeddings']!.shape).toEqual([2, 64]);
    const seen = hx.generate(0, 0);
    const unseen = hx.generate(0, 1); // task a was only trained in domain 0
    expect(maxDiff(seen[0]!['up.weight']!, unseen[0]!['up.weight']!)).toBeGreaterThan(1e-5);
    for (const g of [seen, unseen]) g.forEach((x) => tf.dispose(Object.values(x)));
    hx.dispose();
  });

  it('gradients of a task loss match finite differences (HyperFormer++ through the encoder and a head)', () => {
    const model = AdapterModel.create(
      backbone,
      'hyperformer++',
      [{ name: 't', kind: 'single', labels: ['x', 'y', 'z'] }],
      { embeddingDim: 4, hiddenDim: 6, projectedDim: 4, reductionFactor: 4 },
      2,
    );
    const ids = backbone.tokenize(['hello there', 'adapters']);
    const labels = tf.tensor1d([2, 0], 'int32');
    // At HyperFormer's init (weights ~1e-2) the adapters barely matter and the projector sits on
    // ReLU kinks and a steep LayerNorm: scale the hypernetwork up so the check measures something.
    for (const n of ['hyper.generator.weight', 'hyper.projector.fc1.weight', 'hyper.projector.fc2.weight']) {
      const v = model.method.shared[n]!;
      v.assign(tf.mul(v, 30));
    }
    const loss = () =>
      tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), model.logits(0, ids)) as tf.Scalar);
    const names = ['hyper.generator.weight', 'hyper.projector.fc1.weight', 'hyper.task_embeddings'];
    const vars = names.map((n) => model.method.shared[n]!);
    const { grads } = tf.variableGrads(loss, vars);
    const rng = new Rng(9);
    let worst = 0;
    for (const v of vars) {
      const g = grads[v.name]!.dataSync();
      const base = v.dataSync().slice();
      for (let c = 0; c < 4; c++) {
        const j = rng.int(0, base.length - 1);
        const eps = 3e-3;
        const at = (delta: number) => {
          const x = base.slice();
          x[j]! += delta;
          v.assign(tf.tensor(x, v.shape));
          return loss().dataSync()[0]!;
        };
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        v.assign(tf.tensor(base, v.shape));
        worst = Math.max(worst, Math.abs(g[j]! - numeric) / Math.max(1e-2, Math.abs(numeric)));
      }
    }
    expect(worst).toBeLessThan(2e-2);
    // a control: the generator's gradient is not zero (the loss does depend on the adapters)
    expect(tf.tidy(() => tf.max(tf.abs(grads[vars[0]!.name]!)).dataSync()[0]!)).toBeGreaterThan(1e-6);
    tf.dispose([labels, ...Object.values(grads)]);
    model.dispose();
  });
});

describe('PerTaskAdapters', () => {
  it('starts within 1e-2 of the identity and gives each task its own variables', () => {
    const m = new PerTaskAdapters({ backbone, tasks: ['a', 'b'], rng: new Rng(0) });
    const ids = tf.tensor2d([[1, 2, 3, -1]], [1, 4], 'int32');
    const plain = backbone.net.forward(ids, backbone.weights);
    const fwd = m.forward(1);
    const adapted = backbone.net.forward(ids, fwd.weights, { sublayerHook: fwd.hook });
    const d = maxDiff(plain, adapted);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThan(2e-2);
    expect(Object.keys(m.taskVariables(0)).every((k) => k.startsWith('adapters.0.'))).toBe(true);
    expect(Object.keys(m.taskVariables(1))).toHaveLength(4 * 6); // 4 sites × (pre-norm γ, β, down W, b, up W, b)
    tf.dispose([ids, plain, adapted]);
    m.dispose();
  });
});

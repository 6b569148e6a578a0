// PHA against hand computations (generation, the two contrastive losses, retrieval), finite
// differences, and the few-shot transfer's contract (what trains, what stays), on a tiny encoder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, initBackend } from '@hypernets/core';
import { AdapterModel } from '../model.js';
import { AdapterTrainer } from '../trainer.js';
import { TINY_DIMS, tinyBackbone, tinyTask } from '../testing/tiny.js';
import { fewShotTransfer, sampleShots } from '../transfer.js';
import { PrototypeHyperAdapters } from './pha.js';
import type { Backbone } from './method.js';

type M = number[][];
const mm = (a: M, b: M): M => a.map((r) => b[0]!.map((_, j) => r.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const addRow = (a: M, b: number[]): M => a.map((r) => r.map((v, j) => v + b[j]!));
const unitRows = (a: M): M => a.map((r) => r.map((v) => v / Math.hypot(...r)));
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const arr = (t: tf.Tensor) => t.arraySync() as never;

let backbone: Backbone & { dispose(): void };
beforeAll(async () => {
  await initBackend('cpu');
  backbone = tinyBackbone();
});
afterAll(() => backbone?.dispose());

const small = { embeddingDim: 5, hiddenDim: 7, projectedDim: 4, reductionFactor: 4, retrieverHidden: 6 };

/** The contrastive terms in plain JS, from the equations (and the reference code's masks). */
function referenceLoss(pha: PrototypeHyperAdapters, x: M, tasks: number[]): number {
  const v = (n: string) => arr(pha.shared[n]!) as M;
  const b = (n: string) => arr(pha.shared[n]!) as number[];
  const hidden = addRow(mm(x, v('retriever.fc1.weight')), b('retriever.fc1.bias')).map((r) =>
    r.map((u) => Math.max(0, u)),
  );
  const z = unitRows(addRow(mm(hidden, v('retriever.fc2.weight')), b('retriever.fc2.bias')));
  const k = unitRows(v('hyper.task_embeddings'));
  const tau = 0.1;
  // instance–instance
  let sum = 0;
  let anchors = 0;
  z.forEach((zi, i) => {
    const others = z.map((zj, j) => (j === i ? null : dot(zi, zj) / tau)).filter((l): l is number => l !== null);
    const logDen = Math.log(others.reduce((s, l) => s + Math.exp(l), 0));
    const pos = z.flatMap((zj, j) => (j !== i && tasks[j] === tasks[i] ? [dot(zi, zj) / tau - logDen] : []));
    if (pos.length) {
      sum += pos.reduce((s, l) => s + l, 0) / pos.length;
      anchors++;
    }
  });
  const ins = -sum / anchors;
  // prototype–instance
  const pro =
    -z.reduce((s, zi, i) => {
      const l = k.map((kk) => dot(zi, kk) / tau);
      const den = Math.log(l.reduce((a, li, j) => a + (j === tasks[i] ? 0 : Math.exp(li)), 0));
      return s + l[tasks[i]!]! - den;
    }, 0) / z.length;
  return 0.1 * (ins + pro);
}

describe('PrototypeHyperAdapters (PHA)', () => {
  it('generates ReLU adapters without a conditional norm, from a hyperfanin-initialised generator', () => {
    const pha = new PrototypeHyperAdapters({ backbone, tasks: ['a', 'b'], rng: new Rng(1) }, small);
    expect(pha.shape).toMatchObject({ activation: 'relu', preNorm: false, postNorm: false });
    const d = TINY_DIMS.width;
    const r = d / 4;
    expect(pha.perSite).toBe(d * r + r + r * d + d);
    const g = arr(pha.shared['hyper.generator.weight']!) as M; // [p, perSite]
    const p = 4;
    const cols = { down: [0, d * r, d], downBias: [d * r, d * r + r, 0], up: [d * r + r, 2 * d * r + r, r] };
    for (const [from, to, fanIn] of Object.values(cols)) {
      const bound = 1e-3 * Math.sqrt(3 / (fanIn ? p * fanIn : p));
      const block = g.flatMap((row) => row.slice(from, to));
      expect(Math.max(...block.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...block.map(Math.abs))).toBeGreaterThan(0.5 * bound); // U(±bound), not a narrower init
    }
    const generated = pha.generate(1);
    expect(Object.keys(generated[0]!)).toEqual(['down.weight', 'down.bias', 'up.weight', 'up.bias']);
    generated.forEach((x) => tf.dispose(Object.values(x)));
    pha.dispose();
  });

  it('its contrastive loss equals the equations computed by hand, and its gradients finite differences', () => {
    const pha = new PrototypeHyperAdapters({ backbone, tasks: ['a', 'b', 'c'], rng: new Rng(2) }, small);
    const rng = new Rng(3);
    const xT = rng.normal([7, TINY_DIMS.width], 0, 1) as tf.Tensor2D;
    const x = arr(xT) as M;
    const tasks = [0, 0, 1, 1, 1, 2, 0]; // task 2 has a single instance: no positive, not an anchor
    const got = tf.tidy(() => pha.loss(xT, tasks).dataSync()[0]!);
    expect(Math.abs(got - referenceLoss(pha, x, tasks))).toBeLessThan(1e-5);
    // gradients into the retriever and the prototypes
    const vars = ['retriever.fc1.weight', 'hyper.task_embeddings'].map((n) => pha.shared[n]!);
    const { grads } = tf.variableGrads(() => pha.loss(xT, tasks), vars);
    let worst = 0;
    for (const v of vars) {
      const g = grads[v.name]!.dataSync();
      const base = v.dataSync().slice();
      for (let c = 0; c < 5; c++) {
        const j = rng.int(0, base.length - 1);
        const at = (delta: number) => {
          const y = base.slice();
          y[j]! += delta;
          v.assign(tf.tensor(y, v.shape));
          return referenceLoss(pha, x, tasks); // float64 reference: a clean numeric derivative
        };
        const numeric = (at(1e-4) - at(-1e-4)) / 2e-4;
        v.assign(tf.tensor(base, v.shape));
        worst = Math.max(worst, Math.abs(g[j]! - numeric) / Math.max(1e-3, Math.abs(numeric)));
      }
    }
    expect(worst).toBeLessThan(1e-2);
    expect(() => pha.loss(xT, [0, 1])).toThrow(ConfigError);
    tf.dispose([xT, ...Object.values(grads)]);
    pha.dispose();
  });

  it('retrieves the prototype nearest the mean retriever embedding', async () => {
    const pha = new PrototypeHyperAdapters({ backbone, tasks: ['a', 'b', 'c'], rng: new Rng(4) }, small);
    const x = new Rng(5).normal([4, TINY_DIMS.width], 0, 1) as tf.Tensor2D;
    const z = unitRows(arr(pha.embed(x)) as M);
    const centre = z[0]!.map((_, j) => z.reduce((s, r) => s + r[j]!, 0) / z.length);
    const table = arr(pha.shared['hyper.task_embeddings']!) as M;
    table[2] = centre.map((c) => 3 * c); // prototype c points at the instances' centre
    table[0] = centre.map((c) => -c);
    pha.shared['hyper.task_embeddings']!.assign(tf.tensor2d(table));
    const { task, similarities } = await pha.retrieve(x);
    expect(task).toBe(2);
    expect(similarities[2]).toBeCloseTo(1, 5);
    expect(similarities[0]).toBeCloseTo(-1, 5);
    x.dispose();
    pha.dispose();
  });

  it('trains with the contrastive terms added, then transfers to a new task training only the retrieved prototype and a head', async () => {
    const tasks = [tinyTask('has-e', 'e', 'single', 1), tinyTask('has-o', 'o', 'single', 2)];
    const infos = tasks.map(({ name, kind, labels }) => ({ name, kind, labels }));
    const opts = { reductionFactor: 4, embeddingDim: 8, hiddenDim: 8, projectedDim: 8, contrastPerTask: 4 };
    const before = tf.memory().numTensors;
    const model = AdapterModel.create(backbone, 'pha', infos, opts, 0);
    const losses = async (contrastWeight: number) => {
      const m = AdapterModel.create(backbone, 'pha', infos, { ...opts, contrastWeight }, 0);
      const tr = new AdapterTrainer({ model: m, tasks, steps: 3, batchSize: 8, logEvery: 1, evalEvery: 3 });
      const r = await tr.run();
      tr.dispose();
      m.dispose();
      return r.curve.map((c) => c.loss);
    };
    // the same draws with and without the contrastive weight: the logged loss differs by the term
    const [withTerm, without] = [await losses(0.1), await losses(0)];
    expect(withTerm[0]).not.toBeCloseTo(without[0]!, 4);
    const trainer = new AdapterTrainer({ model, tasks, steps: 20, batchSize: 8, lr: 3e-3, evalEvery: 10 });
    await trainer.run();
    trainer.dispose();
    const generator = tf.clone(model.method.shared['hyper.generator.weight']!);
    const target = tinyTask('has-a', 'a', 'single', 3);
    const shots = { ...target, train: sampleShots(target.train, 8, 0, 2) };
    const pha = await fewShotTransfer({ backbone, method: 'pha', source: model, task: shots, steps: 4, lr: 1e-2 });
    expect(infos.map((t) => t.name)).toContain(pha.retrieved!.task);
    expect(pha.shots).toBe(8);
    expect(pha.trained).toBe(8 + (TINY_DIMS.width + 1) * 2); // one prototype and the head
    expect(pha.acc).toBeGreaterThanOrEqual(0);
    // the source is untouched
    expect(
      tf.tidy(() => tf.max(tf.abs(tf.sub(generator, model.method.shared['hyper.generator.weight']!))).dataSync()[0]!),
    ).toBe(0);
    const adapters = await fewShotTransfer({
      backbone,
      method: 'adapters',
      task: shots,
      steps: 4,
      lr: 1e-2,
      options: opts,
    });
    expect(adapters.retrieved).toBeUndefined();
    expect(adapters.trained).toBeGreaterThan(pha.trained);
    await expect(fewShotTransfer({ backbone, method: 'pha', task: shots, steps: 4, lr: 1e-2 })).rejects.toThrow(
      ConfigError,
    );
    generator.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('sampleShots', () => {
  it('draws k examples as even across classes as they allow, deterministically per seed', () => {
    const split = {
      ids: Array.from({ length: 30 }, (_, i) => [i]),
      labels: Int32Array.from({ length: 30 }, (_, i) => (i < 20 ? 0 : 1)),
    };
    const a = sampleShots(split, 7, 1, 2);
    expect([...a.labels].filter((l) => l === 0)).toHaveLength(4);
    expect([...a.labels].filter((l) => l === 1)).toHaveLength(3);
    expect(new Set(a.ids.map((x) => x[0])).size).toBe(7); // without replacement
    a.ids.forEach((x, i) => expect(split.labels[x[0]!]).toBe(a.labels[i]));
    expect(sampleShots(split, 7, 1, 2).ids).toEqual(a.ids);
    expect(sampleShots(split, 7, 2, 2).ids).not.toEqual(a.ids);
    expect(() => sampleShots(split, 1, 0, 2)).toThrow(ConfigError);
    expect(() => sampleShots(split, 24, 0, 2)).toThrow(/class 1 has 10/);
  });
});

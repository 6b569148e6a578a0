import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import {
  CNN,
  ConfigError,
  MLP,
  Rng,
  ShapeMismatchError,
  assertNoLeaks,
  createVariables,
  haMnist,
  initBackend,
  mse,
  paramSpec,
  targetVariance,
  type ParamSpec,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import { StructuredHyperMLP, type StructuredHyperMLPConfig } from './structured.js';
import { HyperMLP } from './hmlp.js';
import { checkGradients, expectHyperfan, expectPerSample, maxAbs, measure, report } from './testing/helpers.js';
import { batch as sineBatch } from './testing/sine-task.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const w = (name: string, shape: number[], activation?: string) =>
  paramSpec({
    name,
    shape,
    kind: 'weight',
    layer: 0,
    fanIn: shape.length === 4 ? shape[0]! * shape[1]! * shape[2]! : shape[0]!,
    fanOut: shape.length === 4 ? shape[0]! * shape[1]! * shape[3]! : shape[1]!,
    activation,
  });

/** Generated tensors plus the target's other tensors trained directly, broadcast to n when per-sample. */
function withDirect(generated: Weights, direct: Weights, n: number | null): Weights {
  const out: Weights = { ...generated };
  for (const [k, v] of Object.entries(direct))
    out[k] = n === null ? v : tf.broadcastTo(tf.reshape(v, [1, ...v.shape]), [n, ...v.shape]);
  return out;
}

/** Sets every variable to fresh N(0, 0.5²) values, so biases are not zero in hand computations. */
function randomize(h: StructuredHyperMLP, seed: number) {
  h.trainableVariables().forEach((v, i) =>
    tf.tidy(() => v.assign(tf.randomNormal(v.shape, 0, 0.5, 'float32', seed + i))),
  );
}

// A small conv net: conv1 [3,3,2,4] and conv2 [3,3,4,4] generated from blocks [3,3,2,4]
// (1 + 2 blocks); biases and the dense layer trained directly.
const cnn = new CNN({
  inputShape: [5, 5, 2],
  convs: [
    { filters: 4, kernel: 3, padding: 'same' },
    { filters: 4, kernel: 3 },
  ],
  outputSize: 2,
  activation: 'tanh',
});
const cnnGenerated = cnn.params.filter((s) => s.name.endsWith('.weight') && s.name.startsWith('conv'));
const cnnDirect = cnn.params.filter((s) => !cnnGenerated.includes(s));

describe('structure', () => {
  it("Ha et al.'s MNIST generator for conv2 (7×7×16×16) has 4,244 parameters", () => {
    const conv2 = haMnist().params.filter((s) => s.name === 'conv2.weight');
    const h = new StructuredHyperMLP({ target: conv2 });
    expect(h.block).toEqual([7, 7, 16, 16]);
    expect(h.numBlocks).toBe(1);
    expect(Object.fromEntries(h.params.map((s) => [s.name, s.shape]))).toEqual({
      blockEmbeddings: [1, 4],
      'in.weight': [4, 64],
      'in.bias': [64],
      'out.weight': [4, 784],
      'out.bias': [784],
    });
    expect(h.numParams).toBe(4244); // 4 + 16·(4·4 + 4) + 784·(4 + 1)
    const k = h.generate();
    expect(k['conv2.weight']!.shape).toEqual([7, 7, 16, 16]);
    tf.dispose(Object.values(k));
    h.dispose();
  });

  it('tiling and ordering by hand: Nin=2, Nout=1, kh=kw=1 blocks tile [2,1], [4,2] and [1,1,2,3]', () => {
    const specs = [w('a', [2, 1]), w('b', [4, 2]), w('c', [1, 1, 2, 3])];
    const h = new StructuredHyperMLP({ target: specs, embeddingSize: 3, hiddenSize: 2, seed: 3 });
    expect(h.block).toEqual([1, 1, 2, 1]);
    expect(h.tiling.map((t) => [t.rows, t.cols, t.offset])).toEqual([
      [1, 1, 0],
      [2, 2, 1],
      [1, 3, 5],
    ]);
    expect(h.numBlocks).toBe(8);
    // one generator, different init variances: gains √(v_t / v_a)
    expect(h.tiling[1]!.gain).toBeCloseTo(Math.sqrt(targetVariance(specs[1]!) / targetVariance(specs[0]!)), 6);
    randomize(h, 10);
    const v = (n: string) => Array.from(h.ownWeights()[n]!.dataSync());
    const [z, wi, bi, wo, bo] = [v('blockEmbeddings'), v('in.weight'), v('in.bias'), v('out.weight'), v('out.bias')];
    // a_i = W_i z + B_i (W_i: columns i·d… of in.weight [3, 4]); K_i = a_i · W_out [2, 1] + B_out
    const gen = (b: number, i: number) => {
      let k = bo[0]!;
      for (let q = 0; q < 2; q++) {
        let a = bi[i * 2 + q]!;
        for (let j = 0; j < 3; j++) a += z[b * 3 + j]! * wi[j * 4 + i * 2 + q]!;
        k += a * wo[q]!;
      }
      return k;
    };
    const g = h.generate();
    const [ga, gb, gc] = [g.a!.dataSync(), g.b!.dataSync(), g.c!.dataSync()];
    for (let i = 0; i < 2; i++) expect(ga[i]!).toBeCloseTo(gen(0, i), 5);
    // b [4, 2]: block (r, c) = 1 + 2r + c fills rows 2r…2r+1 of column c
    for (let r = 0; r < 2; r++)
      for (let c = 0; c < 2; c++)
        for (let i = 0; i < 2; i++)
          expect(gb[(2 * r + i) * 2 + c]!).toBeCloseTo(h.tiling[1]!.gain * gen(1 + 2 * r + c, i), 5);
    // c [1, 1, 2, 3]: block c = 5 + c fills output channel c
    for (let c = 0; c < 3; c++)
      for (let i = 0; i < 2; i++) expect(gc[i * 3 + c]!).toBeCloseTo(h.tiling[2]!.gain * gen(5 + c, i), 5);
    tf.dispose(Object.values(g));
    h.dispose();
  });

  it('kh = kw = 2 kernels and a condition embedding concatenated to z, by hand', () => {
    const h = new StructuredHyperMLP({
      target: [w('k', [2, 2, 2, 2])],
      blockOut: 1,
      numConditions: 2,
      conditionEmbeddingSize: 2,
      embeddingSize: 2,
      hiddenSize: 3,
      seed: 4,
    });
    expect(h.params.find((s) => s.name === 'in.weight')!.shape).toEqual([4, 6]); // [Nz + F, blockIn · d]
    randomize(h, 20);
    const v = (n: string) => Array.from(h.ownWeights()[n]!.dataSync());
    const [e, z, wi, bi, wo, bo] = [
      v('embeddings'),
      v('blockEmbeddings'),
      v('in.weight'),
      v('in.bias'),
      v('out.weight'),
      v('out.bias'),
    ];
    const id = 1;
    // K[y, x, i, c] from block c: input [z_c ; e_id], output column s = y·2 + x of W_out [3, 4]
    const gen = (c: number, i: number, s: number) => {
      const inp = [z[c * 2]!, z[c * 2 + 1]!, e[id * 2]!, e[id * 2 + 1]!];
      let k = bo[s]!;
      for (let q = 0; q < 3; q++)
        k += (bi[i * 3 + q]! + inp.reduce((acc, xj, j) => acc + xj * wi[j * 6 + i * 3 + q]!, 0)) * wo[q * 4 + s]!;
      return k;
    };
    const both = h.generate({ id: [0, id] });
    const one = h.generate({ id });
    const got = one.k!.dataSync();
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 2; x++)
        for (let i = 0; i < 2; i++)
          for (let c = 0; c < 2; c++) expect(got[((y * 2 + x) * 2 + i) * 2 + c]!).toBeCloseTo(gen(c, i, y * 2 + x), 5);
    expect(maxAbs(tf.slice(both.k!, [1], [1]), tf.reshape(one.k!, [1, 2, 2, 2, 2]))).toBeLessThan(1e-6);
    tf.dispose([...Object.values(both), ...Object.values(one)]);
    h.dispose();
  });
});

describe('gradients vs finite differences', () => {
  let direct: Weights;
  let x: tf.Tensor;
  let y: tf.Tensor;
  beforeAll(() => {
    direct = createVariables(cnnDirect, new Rng(5));
    x = tf.randomNormal([3, 5, 5, 2], 0, 1, 'float32', 6);
    y = tf.randomNormal([3, 2], 0, 1, 'float32', 7);
  });
  const lossWith =
    (h: StructuredHyperMLP, cond: () => Parameters<StructuredHyperMLP['generate']>[0], n: number | null) => () =>
      tf.tidy(() => mse(cnn.forward(x, withDirect(h.generate(cond()), direct, n)), y));
  const base: StructuredHyperMLPConfig = { target: cnnGenerated, embeddingSize: 3, hiddenSize: 3 };

  it('unconditional (shared weights, two tensors with different gains)', async ({ annotate }) => {
    const h = new StructuredHyperMLP({ ...base, blockIn: 2, seed: 1 });
    expect(h.tiling.map((t) => t.rows * t.cols)).toEqual([1, 2]);
    expect(h.tiling[1]!.gain).not.toBe(1);
    randomize(h, 30);
    await annotate(
      `unconditional: worst relative FD error ${checkGradients(
        h,
        lossWith(h, () => undefined, null),
      ).toExponential(2)}`,
    );
    h.dispose();
  });

  it('condition ids (per-sample weights)', async ({ annotate }) => {
    const h = new StructuredHyperMLP({ ...base, numConditions: 3, seed: 2 });
    randomize(h, 40);
    await annotate(
      `ids: worst relative FD error ${checkGradients(
        h,
        lossWith(h, () => ({ id: [2, 0, 1] }), 3),
      ).toExponential(2)}`,
    );
    h.dispose();
  });

  it('external input with MIP (θ₀ included)', () => {
    const h = new StructuredHyperMLP({ ...base, conditionSize: 2, mip: true, mipOutputScale: 1, seed: 3 });
    const cond = tf.tensor2d([0.1, 0.9, 0.5, 0.5, 0.8, 0.2], [3, 2]);
    checkGradients(
      h,
      lossWith(h, () => ({ input: cond }), 3),
    );
    cond.dispose();
    h.dispose();
  });
});

describe('per-sample generation', () => {
  it('B ids → B weight sets → one batched target pass equals B separate passes', () => {
    const h = new StructuredHyperMLP({ target: cnnGenerated, numConditions: 6, seed: 1 });
    const direct = createVariables(cnnDirect, new Rng(2));
    const ids = [4, 0, 2, 2, 5];
    const x = tf.randomNormal([ids.length, 5, 5, 2], 0, 1, 'float32', 7);
    const g = expectPerSample(h, ids, x, (xi, gi, b) => cnn.forward(xi, withDirect(gi, direct, b)));
    expect(g['conv2.weight']!.shape).toEqual([5, 3, 3, 4, 4]);
    tf.dispose([x, ...Object.values(g), ...Object.values(direct)]);
    h.dispose();
  });

  it('is a TargetNet: a HyperMLP generates its weights (nested, per-sample)', () => {
    const inner = new StructuredHyperMLP({ target: cnnGenerated, seed: 1 });
    const outer = new HyperMLP({ target: inner, numConditions: 2, hiddenSizes: [8], seed: 2 });
    const wInner = outer.generate({ id: [0, 1] });
    expect(wInner.blockEmbeddings!.shape).toEqual([2, 3, 4]);
    const flat = inner.forward(tf.zeros([2]), wInner);
    expect(flat.shape).toEqual([2, inner.numTargetParams]);
    const one: Weights = {};
    for (const s of inner.params) one[s.name] = tf.squeeze(tf.slice(wInner[s.name]!, [1], [1]), [0]);
    expect(maxAbs(inner.forward(tf.zeros([1]), one), tf.slice(flat, [1], [1]))).toBeLessThan(1e-5);
    tf.dispose([flat, ...Object.values(wInner), ...Object.values(one)]);
    inner.dispose();
    outer.dispose();
  });
});

describe('hyperfan-in init', () => {
  it("haMnist conv2, unconditional (the paper's Nz = d = 4): variance within 20% of the target init, over seeds", async ({
    annotate,
  }) => {
    const conv2 = haMnist().params.filter((s) => s.name === 'conv2.weight');
    const want = targetVariance(conv2[0]!);
    const ratios: number[] = [];
    let meanAbs = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const h = new StructuredHyperMLP({ target: conv2, seed });
      const k = h.generate()['conv2.weight']!;
      const { mean, variance } = tf.moments(k);
      ratios.push(variance.dataSync()[0]! / want);
      meanAbs += Math.abs(mean.dataSync()[0]!) / 6;
      tf.dispose([k, mean, variance]);
      h.dispose();
    }
    const avg = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    await annotate(
      `haMnist conv2: var/target per seed ${ratios.map((r) => r.toFixed(3)).join(' ')}; mean ${avg.toFixed(3)}; |mean| ${meanAbs.toExponential(2)}`,
    );
    expect(avg).toBeGreaterThan(0.8);
    expect(avg).toBeLessThan(1.2);
    expect(meanAbs).toBeLessThan(0.1 * Math.sqrt(want));
  });

  it('three conv layers of different fanIn tiled by one block, with condition ids: every tensor within 20%', () => {
    const target: TargetNet = new CNN({
      inputShape: [8, 8, 8],
      convs: [
        { filters: 8, kernel: 3 },
        { filters: 16, kernel: 3 },
        { filters: 16, kernel: 3 },
      ],
      outputSize: 2,
    });
    const specs = target.params.filter((s) => s.name.startsWith('conv') && s.kind === 'weight');
    const acc = measure(
      (seed) => new StructuredHyperMLP({ target: specs, numConditions: 4, embeddingSize: 16, seed }),
      specs,
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      [0, 1, 2, 3],
    );
    expectHyperfan(report('StructuredHyperMLP / convs 8→8→16→16 (block [3,3,8,8])', specs, acc), 1e-4);
  });
  it('external input (E[c²] = 1, analytic part of E[a²]): every tensor within 20% over seeds', async ({ annotate }) => {
    const target: TargetNet = new CNN({
      inputShape: [8, 8, 8],
      convs: [
        { filters: 8, kernel: 3 },
        { filters: 16, kernel: 3 },
      ],
      outputSize: 2,
    });
    const specs = target.params.filter((s) => s.name.startsWith('conv') && s.kind === 'weight');
    const ratio: Record<string, number> = { 'conv1.weight': 0, 'conv2.weight': 0 };
    const seeds = 12;
    for (let seed = 1; seed <= seeds; seed++) {
      const h = new StructuredHyperMLP({ target: specs, conditionSize: 4, embeddingSize: 16, seed });
      const g = h.generate({ input: tf.randomNormal([4, 4], 0, 1, 'float32', 100 + seed) });
      for (const s of specs)
        ratio[s.name]! +=
          tf.tidy(() => tf.mean(tf.moments(g[s.name]!, [1, 2, 3, 4]).variance).dataSync()[0]!) /
          targetVariance(s) /
          seeds;
      tf.dispose(Object.values(g));
      h.dispose();
    }
    await annotate(
      `external input: var/target ${Object.entries(ratio)
        .map(([k, r]) => `${k} ${r.toFixed(3)}`)
        .join(', ')}`,
    );
    for (const r of Object.values(ratio)) {
      expect(r).toBeGreaterThan(0.8);
      expect(r).toBeLessThan(1.2);
    }
  });
});

describe('learning and memory', () => {
  // Conditioned sine regression (testing/sine-task.ts): the target MLP 1-16-16-1's middle weight
  // fc2 [16, 16] is generated from 4×4 blocks for each (amplitude, phase); fc1, fc3 and the
  // biases are shared and trained directly.
  const target = new MLP({ inputSize: 1, hiddenSizes: [16, 16], outputSize: 1, activation: 'tanh' });
  const generated = target.params.filter((s) => s.name === 'fc2.weight');
  const directSpecs = target.params.filter((s) => s.name !== 'fc2.weight');
  const setup = (mip: boolean) => {
    const h = new StructuredHyperMLP({
      target: generated,
      blockIn: 4,
      blockOut: 4,
      conditionSize: 2,
      embeddingSize: 8,
      hiddenSize: 8,
      mip,
      seed: 1,
    });
    const direct = createVariables(directSpecs, new Rng(2));
    const loss = (b: ReturnType<typeof sineBatch>) =>
      mse(target.forward(b.x, withDirect(h.generate({ input: b.cond }), direct, b.x.shape[0])), b.y);
    return { h, direct, loss, vars: [...h.trainableVariables(), ...Object.values(direct)] };
  };

  for (const mip of [false, true])
    it(`conditioned sine regression${mip ? ' (MIP)' : ''}: test MSE < 0.25 after 150 steps (baseline 0.875)`, async ({
      annotate,
    }) => {
      const { h, direct, loss, vars } = setup(mip);
      const opt = tf.train.adam(1e-2);
      const rng = new Rng(11);
      for (let i = 0; i < 150; i++) {
        const b = sineBatch(rng, 8, 8);
        tf.dispose(opt.minimize(() => loss(b), true, vars)!);
        tf.dispose([b.cond, b.x, b.y]);
      }
      const test = sineBatch(new Rng(999), 32, 32);
      const final = tf.tidy(() => loss(test).dataSync()[0]!);
      await annotate(`StructuredHyperMLP${mip ? ' + MIP' : ''} sine: test MSE ${final.toFixed(4)} after 150 steps`);
      expect(final).toBeLessThan(0.25);
      tf.dispose([test.cond, test.x, test.y, ...Object.values(direct)]);
      opt.dispose();
      h.dispose();
    });

  it('no tensor leaks across training steps', async () => {
    const { h, direct, loss, vars } = setup(true);
    const opt = tf.train.adam(1e-3);
    const rng = new Rng(1);
    await assertNoLeaks(
      () => {
        const b = sineBatch(rng, 3, 4);
        const c = opt.minimize(() => loss(b), true, vars);
        tf.dispose([b.cond, b.x, b.y]);
        return c!;
      },
      { steps: 3, warmup: 1, label: h.name },
    );
    tf.dispose(Object.values(direct));
    opt.dispose();
    h.dispose();
  });
});

describe('errors', () => {
  const specs: ParamSpec[] = [...haMnist().params];
  it('a target tensor the block cannot tile → ConfigError naming it and saying what to pass', () => {
    expect(() => new StructuredHyperMLP({ target: haMnist() })).toThrow(ConfigError); // conv1.weight [7,7,1,16] first, then conv1.bias
    expect(() => new StructuredHyperMLP({ target: haMnist() })).toThrow(
      /ParamSpec 'conv1.bias' \[16\] \(bias\).*Pass only the tensors to generate.*params\.filter/,
    );
    const conv2 = specs.find((s) => s.name === 'conv2.weight')!;
    expect(() => new StructuredHyperMLP({ target: [conv2, w('k5', [5, 5, 16, 16])] })).toThrow(
      /ParamSpec 'k5' \[5, 5, 16, 16\].*block \[7, 7, 16, 16\]/,
    );
    expect(() => new StructuredHyperMLP({ target: [conv2, w('k', [7, 7, 24, 16])] })).toThrow(
      /ParamSpec 'k' \[7, 7, 24, 16\]/,
    );
    expect(() => new StructuredHyperMLP({ target: [specs.find((s) => s.name === 'conv2.bias')!] })).toThrow(
      /ParamSpec 'conv2.bias'/,
    );
    expect(() => new StructuredHyperMLP({ target: [] })).toThrow(/non-empty/);
  });

  it('bad config values and conditions → typed errors', () => {
    const t = [w('k', [4, 4])];
    expect(() => new StructuredHyperMLP({ target: t, blockIn: 0 })).toThrow(/blockIn.*positive integer/);
    expect(() => new StructuredHyperMLP({ target: t, embeddingSize: 2.5 })).toThrow(ConfigError);
    expect(() => new StructuredHyperMLP({ target: t, mip: true })).toThrow(/conditionSize/);
    expect(() => new StructuredHyperMLP({ target: t, numConditions: 2, conditionSize: 2 })).toThrow(/not both/);
    expect(() => new StructuredHyperMLP({ target: t, init: 'fancy' as never })).toThrow(/init/);
    const h = new StructuredHyperMLP({ target: t, conditionSize: 3 });
    expect(() => h.generate({ input: tf.zeros([2, 2]) })).toThrow(ShapeMismatchError);
    expect(() => h.generate({ id: 0 })).toThrow(/no condition embeddings/);
    expect(() => h.generate()).toThrow(/pass a condition/);
    expect(() => h.forward(tf.zeros([2, 3]), { ...h.ownWeights(), 'out.weight': tf.zeros([3, 3]) })).toThrow(
      ShapeMismatchError,
    );
    h.dispose();
    const u = new StructuredHyperMLP({ target: t });
    expect(() => u.generate({ id: 0 })).toThrow(ConfigError);
    u.dispose();
  });
});

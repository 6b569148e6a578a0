import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend, type BackendInfo } from '../backend/index.js';
import { nativeGemmActive } from './native-gemm.js';
import { compare, randData, rng, valuesOn as on } from '../testing/kernels.js';

// The native path needs @hypernets/native built and OpenBLAS; CI installs both, so there it must run.
let info: BackendInfo;
beforeAll(async () => {
  info = await initBackend('wasm', { native: process.env.CI === 'true' ? true : 'auto' });
});

/** Worst relative difference of f on cpu and on wasm (native products when on). */
async function gap(f: () => tf.Tensor): Promise<number> {
  const c = compare(await on('cpu', f), await on('wasm', f));
  return c.maxAbs / c.scale;
}

describe('wasm matrix products on @hypernets/native (OpenBLAS)', () => {
  it('initBackend reports it, and f32 products go through it', ({ skip }) => {
    if (!info.native?.used) skip(`native GEMM not available: ${info.native?.detail}`);
    expect(info.native!.detail).toMatch(/openblas/i);
    expect(info.device).toMatch(/OpenBLAS/);
    expect(nativeGemmActive()).toBe(true);
  });

  it('BatchMatMul equals cpu for every transpose case, batched, broadcast and zero-sized, forward and gradients', async ({
    annotate,
    skip,
  }) => {
    if (!info.native?.used) skip(`native GEMM not available: ${info.native?.detail}`);
    const r = rng(21);
    let worst = 0;
    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const)
      for (const [batchA, batchB] of [
        [[], []],
        [[3], [3]],
        [
          [2, 2],
          [2, 2],
        ],
        [[4], []], // b shared by every product (stride 0)
        [[1], [5]],
        [[2, 3], [3]], // a broadcast tfjs does in two dimensions: its own kernel
      ])
        for (const [m, k, n] of [
          [r.int(1, 9), r.int(1, 9), r.int(1, 9)],
          [33, 70, 20],
        ]) {
          const aShape = [...batchA, ...(ta ? [k, m] : [m, k])];
          const bShape = [...batchB, ...(tb ? [n, k] : [k, n])];
          const av = randData(r, aShape);
          const bv = randData(r, bShape);
          worst = Math.max(
            worst,
            await gap(() =>
              tf.tidy(() => {
                const a = tf.tensor(av, aShape);
                const b = tf.tensor(bv, bShape);
                const c = tf.reshape(tf.matMul(a, b, ta, tb), [-1]);
                // tfjs's BatchMatMul gradient does not reduce over broadcast batch dims: forward only there
                if (batchA.join() !== batchB.join()) return c;
                const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, y, ta, tb))));
                const [ga, gb] = g([a, b]);
                return tf.concat([c, tf.reshape(ga, [-1]), tf.reshape(gb, [-1])]);
                return tf.concat([
                  tf.reshape(tf.matMul(a, b, ta, tb), [-1]),
                  tf.reshape(ga, [-1]),
                  tf.reshape(gb, [-1]),
                ]);
              }),
            ),
          );
        }
    const zero = await on('wasm', () => tf.matMul(tf.zeros([3, 0]), tf.zeros([0, 2])));
    expect(Array.from(zero)).toEqual([0, 0, 0, 0, 0, 0]);
    await annotate(`BatchMatMul, native vs cpu: worst relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it('_FusedMatMul with bias (per column or scalar) and each activation equals cpu', async ({ annotate, skip }) => {
    if (!info.native?.used) skip(`native GEMM not available: ${info.native?.detail}`);
    const r = rng(22);
    let worst = 0;
    const acts = ['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'leakyrelu', 'prelu'] as const;
    for (const activation of acts)
      for (const biasShape of [null, [7], [1]])
        for (const tb of [false, true]) {
          const av = randData(r, [6, 5], 4);
          const bv = randData(r, tb ? [7, 5] : [5, 7], 4);
          const biasV = biasShape ? randData(r, biasShape) : null;
          const preluV = randData(r, [7]);
          worst = Math.max(
            worst,
            await gap(() =>
              tf.tidy(() =>
                tf.fused.matMul({
                  a: tf.tensor(av, [6, 5]),
                  b: tf.tensor(bv, tb ? [7, 5] : [5, 7]),
                  transposeB: tb,
                  bias: biasV ? tf.tensor(biasV, biasShape!) : undefined,
                  activation,
                  preluActivationWeights: activation === 'prelu' ? tf.tensor(preluV, [7]) : undefined,
                  leakyreluAlpha: 0.3,
                }),
              ),
            ),
          );
        }
    await annotate(`_FusedMatMul, native vs cpu: worst relative error ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-5);
  });

  it("Sum over leading axes: core's JavaScript loop's bits in the native loop, and cpu's values", async ({
    annotate,
    skip,
  }) => {
    if (!info.native?.used) skip(`native kernels not available: ${info.native?.detail}`);
    const { setNativeGemm, nativeKernels } = await import('./native-gemm.js');
    const r = rng(41);
    let worst = 0;
    for (const [shape, axis] of [
      [[128, 100], 0],
      [[23, 4000], 0],
      [
        [7, 3, 5],
        [0, 1],
      ],
      [[2, 9, 33], 0],
      [[5, 1], 0],
    ] as [number[], number | number[]][]) {
      const xs = randData(r, shape);
      const f = () => tf.tidy(() => tf.sum(tf.tensor(xs, shape), axis, shape.length === 3 && axis === 0));
      const native = await on('wasm', f);
      const saved = nativeKernels();
      setNativeGemm(null);
      let js: Float32Array;
      try {
        js = await on('wasm', f);
      } finally {
        setNativeGemm(saved);
      }
      expect(Array.from(native), JSON.stringify(shape)).toEqual(Array.from(js));
      const c = compare(await on('cpu', f), native);
      worst = Math.max(worst, c.maxAbs / c.scale);
    }
    await annotate(`[native-sum] max relative difference to cpu ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-6);
  });

  it('Adam on an MLP: the same losses as cpu, and no tensor leaks per step', async ({ skip }) => {
    if (!info.native?.used) skip(`native GEMM not available: ${info.native?.detail}`);
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const r = rng(23);
      const x = tf.tensor(randData(r, [32, 20]), [32, 20]);
      const y = tf.oneHot(
        tf.tensor1d(
          Array.from({ length: 32 }, (_, i) => i % 4),
          'int32',
        ),
        4,
      );
      const w1 = tf.variable(tf.tensor(randData(r, [20, 16], 0.3), [20, 16]));
      const w2 = tf.variable(tf.tensor(randData(r, [16, 4], 0.3), [16, 4]));
      const opt = tf.train.adam(1e-2);
      const losses: number[] = [];
      let before = 0;
      for (let s = 0; s < 8; s++) {
        if (s === 2) before = tf.memory().numTensors;
        const l = opt.minimize(() => tf.losses.softmaxCrossEntropy(y, tf.matMul(tf.relu(tf.matMul(x, w1)), w2)), true)!;
        losses.push((await l.data())[0]!);
        l.dispose();
      }
      const leaked = tf.memory().numTensors - before;
      opt.dispose();
      tf.dispose([x, y, w1, w2]);
      return { losses, leaked };
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(wasm.leaked).toBe(0);
    wasm.losses.forEach((l, i) => expect(l).toBeCloseTo(cpu.losses[i]!, 4));
    expect(wasm.losses.at(-1)!).toBeLessThan(wasm.losses[0]!);
  });

  it('native: false keeps the products on wasm, with the same results', async () => {
    const off = await initBackend('wasm', { native: false });
    expect(off.native).toEqual({ used: false, detail: expect.stringMatching(/^off/) });
    expect(nativeGemmActive()).toBe(false);
    const r = rng(24);
    const av = randData(r, [4, 6]);
    const bv = randData(r, [6, 5]);
    expect(await gap(() => tf.matMul(tf.tensor(av, [4, 6]), tf.tensor(bv, [6, 5])))).toBeLessThan(1e-5);
    info = await initBackend('wasm', { native: process.env.CI === 'true' ? true : 'auto' });
  });

  it('a bad HYPERNETS_NATIVE or native option is a ConfigError', async () => {
    await expect(initBackend('wasm', { native: 'yes' as never })).rejects.toThrow(/invalid config 'native'/);
    info = await initBackend('wasm', { native: process.env.CI === 'true' ? true : 'auto' });
  });
});

describe('Adam on @hypernets/native: one in-place pass per variable', () => {
  /** x, m, v after `steps` Adam steps on wasm with fixed random gradients; native on or off. */
  async function adamRun(native: boolean, weightDecay: number, shareOne: boolean, decoupled = false) {
    const { Adam } = await import('../adam.js');
    const { setNativeGemm, nativeKernels } = await import('./native-gemm.js');
    const saved = nativeKernels();
    if (!native) setNativeGemm(null);
    try {
      await tf.setBackend('wasm');
      const r = rng(31);
      const shapes = [[40, 30], [30], [1], [7, 3, 2]];
      const vars = tf.tidy(() => shapes.map((s) => tf.variable(tf.tensor(randData(r, s), s))));
      // a tensor sharing variable 0's buffer: that variable must take the op path
      const view = shareOne ? tf.reshape(vars[0]!, [-1]) : null;
      const adam = new Adam(vars, { lr: 3e-3, weightDecay, decoupled });
      for (let s = 0; s < 5; s++) {
        const grads = shapes.map((sh) => tf.tensor(randData(r, sh), sh));
        adam.step(s === 2 ? grads.map((g, i) => (i === 1 ? null : g)) : grads);
        tf.dispose(grads);
      }
      const st = adam.state('');
      const out = [
        ...vars.map((v) => v.dataSync().slice()),
        ...Object.values(st.tensors).map((t) => t.dataSync().slice()),
      ];
      const viewValues = view ? view.dataSync().slice() : null;
      tf.dispose([...vars, ...(view ? [view] : [])]);
      adam.dispose();
      return { out, viewValues };
    } finally {
      setNativeGemm(saved);
    }
  }

  it("gives the op path's bits, with and without weight decay, and leaves a shared buffer to the op path", async ({
    skip,
  }) => {
    if (!info.native?.used) skip(`native kernels not available: ${info.native?.detail}`);
    for (const [wd, decoupled] of [
      [0, false],
      [1e-2, false],
      [1e-1, true],
    ] as const) {
      const native = await adamRun(true, wd, false, decoupled);
      const ops = await adamRun(false, wd, false, decoupled);
      native.out.forEach((a, i) =>
        expect(Array.from(a), `tensor ${i}, weight decay ${wd}, decoupled ${decoupled}`).toEqual(
          Array.from(ops.out[i]!),
        ),
      );
    }
    // the native pass really runs for an unshared variable, and not for a shared one
    const { nativeAdamStep } = await import('./native-adam.js');
    await tf.setBackend('wasm');
    // made in tidy: the variables are then the only holders of their buffers
    const [x, m, v] = tf.tidy(() => [
      tf.variable(tf.ones([4])),
      tf.variable(tf.zeros([4])),
      tf.variable(tf.zeros([4])),
    ]);
    const g = tf.ones([4]);
    const c = { weightDecay: 0, shrink: 1, beta1: 0.9, oneMinusBeta1: 0.1, beta2: 0.999, oneMinusBeta2: 0.001 };
    const consts = { ...c, biasCorrection2: Math.sqrt(0.001), eps: 1e-8, scale: -0.1 / 0.1 };
    expect(nativeAdamStep(x, g, m, v, consts)).toBe(true);
    expect(Array.from(await m.data())).toEqual([0.1, 0.1, 0.1, 0.1].map(Math.fround));
    const view = tf.reshape(x, [2, 2]);
    expect(nativeAdamStep(x, g, m, v, consts)).toBe(false);
    tf.dispose([x, m, v, g, view]);
    const shared = await adamRun(true, 0, true);
    const ops = await adamRun(false, 0, true);
    shared.out.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(ops.out[i]!)));
    // the view kept the values it was made with: nothing wrote into its buffer
    expect(Array.from(shared.viewValues!)).toEqual(Array.from(ops.viewValues!));
  });

  it("a convolution's filter is left to the op path: the conv after a step sees the new weights", async ({ skip }) => {
    if (!info.native?.used) skip(`native GEMM not available: ${info.native?.detail}`);
    expect(await tf.setBackend('wasm')).toBe(true);
    const { Adam } = await import('../adam.js');
    const x = tf.randomNormal([2, 6, 6, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.tidy(() => tf.variable(tf.randomNormal([3, 3, 2, 4], 0, 1, 'float32', 2)));
    const adam = new Adam([w], { lr: 0.1 });
    const conv = (f: tf.Tensor) => tf.conv2d(x, f as tf.Tensor4D, 1, 'same');
    const before = await conv(w).data();
    const { grads } = tf.variableGrads(() => tf.sum(conv(w)) as tf.Scalar, [w]);
    adam.step([grads[w.name]!]);
    const after = await conv(w).data();
    const copy = tf.tensor(await w.data(), w.shape);
    const fresh = await conv(copy).data();
    // XNNPACK packed w's first values; an in-place update would leave `after` equal to `before`.
    expect(compare(fresh, after).maxAbs).toBe(0);
    expect(compare(before, after).maxAbs).toBeGreaterThan(0.1);
    tf.dispose([x, w, copy, ...Object.values(grads)]);
    adam.dispose();
  });
});

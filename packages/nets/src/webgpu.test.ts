/**
 * Every HyperNet of @hypernets/nets on WebGPU (Dawn in Node; SwiftShader in CI): constructed in
 * each conditioning mode it has, then a few Adam steps, compared with the same run on `cpu`. The
 * same seed gives the same initial values on both backends (init statistics are computed on host
 * arrays), and nothing in construction or training reads a tensor synchronously (which throws on
 * WebGPU in Node). Skipped without a WebGPU adapter, except under CI=true (see core's webgpu.test.ts).
 */
import { expect, it } from 'vitest';
import { webgpuSuite } from '@hypernets/vitest-preset/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import {
  BackendUnavailableError,
  MLP,
  Rng,
  initBackend,
  mse,
  shutdownBackend,
  softmaxCrossEntropy,
  type Weights,
} from '@hypernets/core';
import { HyperMLP } from './hmlp.js';
import { ChunkedHyperMLP } from './chunked.js';
import { LowRankHyperNet } from './lowrank.js';
import { StructuredHyperMLP } from './structured.js';
import { PerturbedHyperNet } from './perturb.js';
import { HyperLSTM } from './hyperlstm.js';
import { hypernetize } from './hypernetize.js';
import type { Condition, HyperNet } from './hypernet.js';

const { describeWebgpu } = await webgpuSuite('nets webgpu.test', () => initBackend('webgpu'), {
  unavailable: (e) => e instanceof BackendUnavailableError,
  release: shutdownBackend,
  env: () => tf.env(),
});

const STEPS = 3;
/** |webgpu − cpu| after STEPS Adam steps (lr 1e-2), relative to max(1, |cpu|). */
const TOL = 2e-4;
/**
 * With MIP: the GPU's cos/sin of the encoding differ from cpu's in the last bits, and Adam's first
 * steps (update ≈ lr·g/|g|) amplify that where a gradient is near zero (measured up to 1e-4).
 */
const MIP_TOL = 5e-4;

interface Run {
  init: Float32Array[];
  losses: number[];
  final: Float32Array[];
}

/** Everything a case needs: variables to train and a loss; built fresh on the active backend. */
interface Case {
  vars: tf.Variable[];
  loss: () => tf.Scalar;
  dispose: () => void;
}

const read = (ts: readonly tf.Tensor[]) => Promise.all(ts.map(async (t) => Float32Array.from(await t.data())));

async function train(backend: string, make: () => Case): Promise<Run> {
  expect(await tf.setBackend(backend)).toBe(true);
  const before = tf.memory().numTensors;
  const c = make();
  const init = await read(c.vars);
  const opt = tf.train.adam(1e-2);
  const losses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const l = opt.minimize(c.loss, true, c.vars)!;
    losses.push((await l.data())[0]!);
    l.dispose();
  }
  const final = await read(c.vars);
  opt.dispose();
  c.dispose();
  expect(tf.memory().numTensors, `${backend}: tensors left after dispose`).toBe(before);
  return { init, losses, final };
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

/**
 * Runs `make` on webgpu and cpu and compares init (equal), losses and trained values (within TOL);
 * the errors go to the test's annotations.
 */
async function expectSameOnBothBackends(
  annotate: (message: string) => Promise<unknown>,
  label: string,
  make: () => Case,
  tol = TOL,
) {
  const gpu = await train('webgpu', make);
  const cpu = await train('cpu', make);
  const initErr = Math.max(...gpu.init.map((g, i) => maxRelDiff(g, cpu.init[i]!)));
  const lossErr = maxRelDiff(gpu.losses, cpu.losses);
  const finalErr = Math.max(...gpu.final.map((g, i) => maxRelDiff(g, cpu.final[i]!)));
  await annotate(
    `[nets webgpu.test] ${label}: loss ${cpu.losses[0]!.toFixed(5)}→${cpu.losses[STEPS - 1]!.toFixed(5)}; webgpu vs cpu: ` +
      `init ${initErr.toExponential(1)}, loss ${lossErr.toExponential(1)}, weights after ${STEPS} Adam steps ${finalErr.toExponential(1)}`,
  );
  expect(cpu.losses.every(Number.isFinite)).toBe(true);
  expect(initErr, `${label}: same seed, same initial values`).toBeLessThan(1e-6);
  expect(lossErr, label).toBeLessThan(tol);
  expect(finalErr, label).toBeLessThan(tol);
}

// Targets and data: host values only, so both backends see the same numbers.
const target = new MLP({ inputSize: 3, hiddenSizes: [8], outputSize: 2, activation: 'tanh' });
const N = 6;
const hostRng = new Rng(99);
const X = Array.from({ length: N * 3 }, () => hostRng.uniform() * 2 - 1);
const Y = Array.from({ length: N * 2 }, () => hostRng.uniform() * 2 - 1);
const IDS = Array.from({ length: N }, (_, i) => i % 3);
const COND = Array.from({ length: N * 2 }, () => hostRng.uniform());

// Ha et al.'s static hypernetwork tiles weight matrices: a bias-free target 3-8-8 (the loss reads 2 outputs).
const tiled = new MLP({ inputSize: 3, hiddenSizes: [8], outputSize: 2 * 4, activation: 'relu', bias: false });

type Mode = 'id' | 'input' | 'none';
const modeConfig = (mode: Mode, mip = false) =>
  mode === 'id' ? { numConditions: 3 } : mode === 'input' ? { conditionSize: 2, ...(mip ? { mip: true } : {}) } : {};

/** A hypernet generating `target` per sample (id / input) or shared (none), trained on MSE. */
function hypernetCase(
  make: () => HyperNet,
  mode: Mode,
  forward: (x: tf.Tensor, w: Weights) => tf.Tensor = (x, w) => target.forward(x, w),
) {
  return (): Case => {
    const h = make();
    const x = tf.tensor2d(X, [N, 3]);
    const y = tf.tensor2d(Y, [N, 2]);
    const ids = tf.tensor1d(IDS, 'int32');
    const cond = tf.tensor2d(COND, [N, 2]);
    const condition: Condition = mode === 'id' ? { id: ids } : mode === 'input' ? { input: cond } : undefined;
    return {
      vars: h.trainableVariables(),
      loss: () => mse(forward(x, h.generate(condition)), y),
      dispose: () => {
        h.dispose();
        tf.dispose([x, y, ids, cond]);
      },
    };
  };
}

describeWebgpu('@hypernets/nets on webgpu matches cpu', () => {
  for (const mode of ['id', 'input', 'none'] as const) {
    it(`HyperMLP (${mode})`, async ({ annotate }) => {
      await expectSameOnBothBackends(
        annotate,
        `HyperMLP ${mode}`,
        hypernetCase(() => new HyperMLP({ target, ...modeConfig(mode), hiddenSizes: [16, 8], seed: 1 }), mode),
      );
    });
    it(`ChunkedHyperMLP (${mode})`, async ({ annotate }) => {
      await expectSameOnBothBackends(
        annotate,
        `ChunkedHyperMLP ${mode}`,
        hypernetCase(
          () => new ChunkedHyperMLP({ target, ...modeConfig(mode), chunkSize: 10, hiddenSizes: [12], seed: 2 }),
          mode,
        ),
      );
    });
    it(`LowRankHyperNet (${mode})`, async ({ annotate }) => {
      await expectSameOnBothBackends(
        annotate,
        `LowRankHyperNet ${mode}`,
        hypernetCase(
          () => new LowRankHyperNet({ target, ...modeConfig(mode), rank: 2, hiddenSizes: [12], seed: 3 }),
          mode,
        ),
      );
    });
  }

  it('MIP (HyperMLP, Chunked, LowRank, Structured) and ChunkedHyperMLP with per-condition chunk embeddings', async ({
    annotate,
  }) => {
    await expectSameOnBothBackends(
      annotate,
      'HyperMLP input+MIP',
      hypernetCase(() => new HyperMLP({ target, ...modeConfig('input', true), hiddenSizes: [8], seed: 4 }), 'input'),
      MIP_TOL,
    );
    await expectSameOnBothBackends(
      annotate,
      'ChunkedHyperMLP input+MIP',
      hypernetCase(
        () => new ChunkedHyperMLP({ target, ...modeConfig('input', true), chunkSize: 10, hiddenSizes: [8], seed: 14 }),
        'input',
      ),
      MIP_TOL,
    );
    await expectSameOnBothBackends(
      annotate,
      'LowRankHyperNet input+MIP',
      hypernetCase(
        () => new LowRankHyperNet({ target, ...modeConfig('input', true), rank: 2, hiddenSizes: [8], seed: 15 }),
        'input',
      ),
      MIP_TOL,
    );
    await expectSameOnBothBackends(
      annotate,
      'StructuredHyperMLP input+MIP',
      hypernetCase(
        () =>
          new StructuredHyperMLP({
            target: tiled,
            ...modeConfig('input', true),
            blockIn: 1,
            blockOut: 8,
            embeddingSize: 4,
            seed: 16,
          }),
        'input',
        (x, w) => tf.slice(tiled.forward(x, w), [0, 0], [N, 2]),
      ),
      MIP_TOL,
    );
    await expectSameOnBothBackends(
      annotate,
      'ChunkedHyperMLP per-condition chunks',
      hypernetCase(
        () =>
          new ChunkedHyperMLP({
            target,
            numConditions: 3,
            chunkEmbeddingsPerCondition: true,
            chunkSize: 10,
            hiddenSizes: [8],
            seed: 5,
          }),
        'id',
      ),
    );
  });

  for (const mode of ['id', 'input', 'none'] as const) {
    it(`StructuredHyperMLP (${mode})`, async ({ annotate }) => {
      const make = hypernetCase(
        () =>
          new StructuredHyperMLP({
            target: tiled,
            ...modeConfig(mode),
            blockIn: 1,
            blockOut: 8,
            embeddingSize: 4,
            seed: 6,
          }),
        mode,
        (x, w) => tf.slice(tiled.forward(x, w), [0, 0], [N, 2]),
      );
      await expectSameOnBothBackends(annotate, `StructuredHyperMLP ${mode}`, make);
    });
  }

  it('PerturbedHyperNet (learned σ around a HyperMLP; ε from a seeded Rng)', async ({ annotate }) => {
    const make = hypernetCase(
      () =>
        new PerturbedHyperNet({
          inner: new HyperMLP({ target, numConditions: 3, hiddenSizes: [8], seed: 7 }),
          sigma: 0.05,
          learnSigma: true,
          rng: 8,
        }),
      'id',
    );
    await expectSameOnBothBackends(annotate, 'PerturbedHyperNet id', make);
    // sigmas() reads with await data(): works on webgpu.
    await tf.setBackend('webgpu');
    const p = new PerturbedHyperNet({
      inner: new HyperMLP({ target, hiddenSizes: [4], seed: 9 }),
      sigma: 0.25,
      learnSigma: true,
    });
    expect((await p.sigmas())['fc1.weight']).toBeCloseTo(0.25, 5);
    p.dispose();
  });

  it('HyperLSTM (token ids, char-LM loss)', async ({ annotate }) => {
    const V = 7;
    const T = 3;
    const rng = new Rng(10);
    const xs = Array.from({ length: 2 * T }, () => rng.int(0, V - 1));
    const ys = Array.from({ length: 2 * T }, () => rng.int(0, V - 1));
    await expectSameOnBothBackends(annotate, 'HyperLSTM', () => {
      const net = new HyperLSTM({
        inputSize: 4,
        vocabSize: V,
        hiddenSize: 8,
        hyperHiddenSize: 4,
        hyperEmbeddingSize: 2,
        outputSize: V,
        seed: 11,
      });
      const x = tf.tensor2d(xs, [2, T], 'int32');
      const y = tf.tensor2d(ys, [2, T], 'int32');
      return {
        vars: net.trainableVariables(),
        loss: () => softmaxCrossEntropy(net.run(x).logits!, y),
        dispose: () => {
          net.dispose();
          tf.dispose([x, y]);
        },
      };
    });
  });

  it('hypernetize: a HyperMLP generates a tfjs-layers model’s last Dense layer per task; forward + Adam steps', async ({
    annotate,
  }) => {
    const make = (): Case => {
      const m = tfl.sequential({
        layers: [
          tfl.layers.dense({ units: 8, inputShape: [3], activation: 'tanh', name: 'dense_1' }),
          tfl.layers.dense({ units: 2, name: 'dense_2' }),
        ],
      });
      // Weights from host values: the same on both backends.
      const rng = new Rng(12);
      for (const layer of m.layers) {
        const values = layer.weights.map((w) =>
          tf.tensor(rng.normalArray(w.shape as number[], 0, 0.5), w.shape as number[]),
        );
        layer.setWeights(values);
        tf.dispose(values);
      }
      const h = hypernetize(m, { which: ['dense_2'] });
      const inner = hypernetCase(
        () => new HyperMLP({ target: h, numConditions: 3, hiddenSizes: [8], seed: 13 }),
        'id',
        (x, w) => h.forward(x, w),
      )();
      return {
        ...inner,
        dispose: () => {
          inner.dispose();
          h.dispose();
          m.dispose();
        },
      };
    };
    await expectSameOnBothBackends(annotate, 'hypernetize(LayersModel) + HyperMLP', make);
  });
});

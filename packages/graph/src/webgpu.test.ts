/**
 * GHN-2 and GHN-3 on WebGPU (Dawn in Node; SwiftShader in CI): the parameters they predict for
 * a ResNet (ResNet-8), and for GHN-3 the gradient of a loss on that prediction, equal the same on
 * `cpu` within tolerance. The slices of 5-D decoder outputs and the many-term sums here are what
 * core's webgpu kernel fixes (core/src/kernels/webgpu-fixes.ts) are for. Skipped without a WebGPU adapter, except under CI=true (see core's
 * webgpu.test.ts).
 */
import { expect, it } from 'vitest';
import { webgpuSuite } from '@hypernets/vitest-preset/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BackendUnavailableError, ResNet, initBackend, shutdownBackend } from '@hypernets/core';
import { archGraph } from './describe.js';
import { GHN2 } from './ghn2.js';
import { GHN3 } from './ghn3.js';

const { describeWebgpu } = await webgpuSuite('graph webgpu.test', () => initBackend('webgpu'), {
  unavailable: (e) => e instanceof BackendUnavailableError,
  release: shutdownBackend,
  env: () => tf.env(),
});

// ResNet-8 (one block per stage), narrow: every node type of ResNet-20 at a third of the graph
// (SwiftShader runs GHN-2's level-by-level sweeps at ~15 ms a kernel).
const net = new ResNet({ depth: 8, widths: [8, 8, 16] });
const graph = archGraph(net);

interface Out {
  /** Predicted tensors by ParamSpec name. */
  weights: Record<string, Float32Array>;
  missing: readonly string[];
  /** Σ of squared predicted weights (a loss on the prediction) and the GHN's gradient norm² for it. */
  loss?: number;
  gradNorm2?: number;
}

async function predict(backend: string, make: () => GHN2, withGradient: boolean): Promise<Out> {
  expect(await tf.setBackend(backend)).toBe(true);
  const before = tf.memory().numTensors;
  const ghn = make();
  const [p] = ghn.predict(graph);
  const weights: Record<string, Float32Array> = {};
  for (const [k, t] of Object.entries(p!.weights)) weights[k] = Float32Array.from(await t.data());
  tf.dispose(Object.values(p!.weights));
  if (!withGradient) {
    ghn.dispose();
    expect(tf.memory().numTensors, `${backend}: tensors left`).toBe(before);
    return { weights, missing: p!.missing };
  }
  // Differentiable end to end on this backend too: a loss on the prediction, gradients into the GHN.
  const { value, grads } = tf.variableGrads(() =>
    tf.tidy(() => {
      const [q] = ghn.predict(graph);
      return tf.addN(Object.values(q!.weights).map((w) => tf.mean(tf.square(w)))) as tf.Scalar;
    }),
  );
  const norm2 = tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
  const loss = (await value.data())[0]!;
  const gradNorm2 = (await norm2.data())[0]!;
  tf.dispose([value, norm2, ...Object.values(grads)]);
  ghn.dispose();
  expect(tf.memory().numTensors, `${backend}: tensors left`).toBe(before);
  return { weights, missing: p!.missing, loss, gradNorm2 };
}

async function expectSame(
  annotate: (message: string) => Promise<unknown>,
  label: string,
  make: () => GHN2,
  withGradient: boolean,
) {
  const gpu = await predict('webgpu', make, withGradient);
  const cpu = await predict('cpu', make, withGradient);
  expect(gpu.missing).toEqual(cpu.missing);
  expect(Object.keys(gpu.weights).sort()).toEqual(Object.keys(cpu.weights).sort());
  expect(Object.keys(cpu.weights).length).toBeGreaterThan(net.params.length / 2);
  let worst = 0;
  let worstName = '';
  for (const [k, c] of Object.entries(cpu.weights)) {
    const g = gpu.weights[k]!;
    expect(g.length, k).toBe(c.length);
    let scale = 1e-6;
    let diff = 0;
    for (let i = 0; i < c.length; i++) {
      scale = Math.max(scale, Math.abs(c[i]!));
      diff = Math.max(diff, Math.abs(g[i]! - c[i]!));
    }
    if (diff / scale > worst) [worst, worstName] = [diff / scale, k];
  }
  const lossErr = withGradient ? Math.abs(gpu.loss! - cpu.loss!) / Math.abs(cpu.loss!) : 0;
  const gradErr = withGradient ? Math.abs(gpu.gradNorm2! - cpu.gradNorm2!) / Math.abs(cpu.gradNorm2!) : 0;
  await annotate(
    `[graph webgpu.test] ${label} on ResNet-8 (${Object.keys(cpu.weights).length} tensors): ` +
      `webgpu vs cpu max |Δ|/max|w| ${worst.toExponential(1)} (${worstName})` +
      (withGradient ? `; loss ${lossErr.toExponential(1)}, |grad|² ${gradErr.toExponential(1)}` : ''),
  );
  expect(worst).toBeLessThan(1e-4);
  expect(lossErr).toBeLessThan(1e-4);
  expect(gradErr).toBeLessThan(1e-3);
}

describeWebgpu('GHNs on webgpu match cpu', () => {
  // GHN-2's gradient through its level-by-level sweeps is ~3000 small kernels on this graph: on
  // SwiftShader that alone takes ~40 s, so GHN-2 is compared on its prediction only; GHN-3 (dense
  // Graphormer layers) also through one gradient.
  it('GHN-2 predicts ResNet-8’s parameters as on cpu', async ({ annotate }) => {
    await expectSame(annotate, 'GHN-2', () => new GHN2({ hid: 16, maxShape: [16, 16, 3, 3], seed: 1 }), false);
  });

  it('GHN-3 predicts ResNet-8’s parameters (and trains through them) as on cpu', async ({ annotate }) => {
    await expectSame(annotate, 'GHN-3', () => new GHN3({ hid: 16, heads: 4, layers: 2, seed: 2 }), true);
  });
});

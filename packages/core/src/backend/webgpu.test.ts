import { describe, expect, it } from 'vitest';
import { webgpuSuite } from '@hypernets/vitest-preset/webgpu';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core registers no gradients itself (the @tensorflow/tfjs union does).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { BackendUnavailableError } from '../errors/index.js';
import { describeAdapter, releaseWebgpu, startWebgpu, type WebgpuInfo } from './webgpu.js';
import { configureVulkanDriver, findSwiftShaderIcd, VULKAN_DRIVER_ENV } from './vulkan.js';

const TOL = 1e-4;

// CI must run this suite (it installs SwiftShader with .ci/install-webgpu.sh); elsewhere a
// machine without a WebGPU adapter skips it with a message.
const { value: info, describeWebgpu } = await webgpuSuite<WebgpuInfo>('webgpu.test', startWebgpu, {
  unavailable: (e) => e instanceof BackendUnavailableError,
  release: async () => {
    await releaseWebgpu(); // lets the vitest fork exit
    expect(tf.findBackendFactory('webgpu')).toBeNull();
  },
  env: () => tf.env(),
});

/** Deterministic values in [-scale, scale), independent of any backend's RNG. */
function fixed(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

async function read(ts: tf.Tensor[]): Promise<Float32Array[]> {
  // `await data()`: dataSync() cannot wait for the GPU in Node.
  return Promise.all(ts.map(async (t) => (await t.data()) as Float32Array));
}

// MLP 20-32-10 on a batch of 16, weights from fixed arrays.
const B = 16;
const MLP_SHAPES: number[][] = [[20, 32], [32], [32, 10], [10]];
const MLP_INIT = MLP_SHAPES.map((s, i) =>
  fixed(
    s.reduce((a, b) => a * b, 1),
    11 + i,
    i % 2 ? 0.1 : 0.3,
  ),
);
const X = fixed(B * 20, 7);
const LABELS = Array.from({ length: B }, (_, i) => (i * 7) % 10);

interface StepResult {
  loss: number;
  grads: Float32Array[];
  weights: Float32Array[];
}

/** Three training steps (forward, tf.grads, Adam) on one backend; numbers read into JS arrays. */
async function trainMlp(backend: string): Promise<{ steps: StepResult[]; tensorsPerStep: number[] }> {
  expect(await tf.setBackend(backend)).toBe(true);
  const x = tf.tensor2d(X, [B, 20]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d(LABELS, 'int32'), 10));
  const vars = MLP_INIT.map((a, i) => {
    const init = tf.tensor(a, MLP_SHAPES[i]);
    const v = tf.variable(init);
    init.dispose();
    return v;
  });
  const opt = tf.train.adam(0.01);
  const lossOf = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor) => {
    const h = tf.relu(tf.add(tf.matMul(x, w1 as tf.Tensor2D), b1));
    const logits = tf.add(tf.matMul(h, w2 as tf.Tensor2D), b2);
    return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
  };
  const valueAndGrads = tf.valueAndGrads(lossOf as (...ts: tf.Tensor[]) => tf.Scalar);
  const steps: StepResult[] = [];
  const tensorsPerStep: number[] = [];
  for (let s = 0; s < 3; s++) {
    const { value, grads } = valueAndGrads(vars);
    const [loss, ...g] = await read([value, ...grads]);
    opt.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i] })));
    tf.dispose([value, ...grads]);
    steps.push({ loss: loss[0], grads: g, weights: await read(vars) });
    tensorsPerStep.push(tf.memory().numTensors);
  }
  opt.dispose();
  tf.dispose([x, y, ...vars]);
  return { steps, tensorsPerStep };
}

describeWebgpu('webgpu backend (Dawn / navigator.gpu)', () => {
  it('starts and describes the adapter', async ({ annotate }) => {
    await annotate(`[webgpu.test] device: ${info!.device} ${JSON.stringify(info!.adapterInfo)}`);
    expect(info!.device.length).toBeGreaterThan(0);
    expect(info!.adapterInfo.runtime).toBeDefined();
    expect(await tf.setBackend('webgpu')).toBe(true);
    expect(tf.getBackend()).toBe('webgpu');
    // Starting again returns the running device.
    expect((await startWebgpu()).device).toBe(info!.device);
  });

  it('reads GPU tensors back with await data()', async () => {
    await tf.setBackend('webgpu');
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]);
    const c = tf.matMul(a, b);
    const d = tf.add(c, 0.5);
    expect(Array.from(await d.data())).toEqual([4.5, 5.5, 10.5, 11.5]);
    tf.dispose([a, b, c, d]);
  });

  it('a training step of an MLP 20-32-10 matches cpu (loss, tf.grads, Adam)', async ({ annotate }) => {
    const before = tf.memory().numTensors;
    const gpu = await trainMlp('webgpu');
    const afterGpu = tf.memory().numTensors;
    const cpu = await trainMlp('cpu');
    let lossErr = 0;
    let gradErr = 0;
    let weightErr = 0;
    for (let s = 0; s < 3; s++) {
      lossErr = Math.max(lossErr, Math.abs(gpu.steps[s].loss - cpu.steps[s].loss));
      gpu.steps[s].grads.forEach((g, i) => (gradErr = Math.max(gradErr, maxAbsDiff(g, cpu.steps[s].grads[i]))));
      gpu.steps[s].weights.forEach((w, i) => (weightErr = Math.max(weightErr, maxAbsDiff(w, cpu.steps[s].weights[i]))));
    }
    await annotate(
      `[webgpu.test] MLP 20-32-10 webgpu vs cpu over 3 steps: loss ${cpu.steps[0].loss.toFixed(5)}→${cpu.steps[2].loss.toFixed(5)}, ` +
        `max |Δloss| ${lossErr.toExponential(2)}, max |Δgrad| ${gradErr.toExponential(2)}, ` +
        `max |Δweights after Adam| ${weightErr.toExponential(2)}`,
    );
    expect(cpu.steps[2].loss).toBeLessThan(cpu.steps[0].loss); // it trains
    expect(lossErr).toBeLessThan(TOL);
    expect(gradErr).toBeLessThan(TOL);
    expect(weightErr).toBeLessThan(TOL);
    // No leaks: the optimizer's state appears in step 1, then the count stays flat.
    expect(gpu.tensorsPerStep[2]).toBe(gpu.tensorsPerStep[1]);
    expect(cpu.tensorsPerStep[2]).toBe(cpu.tensorsPerStep[1]);
    expect(afterGpu).toBe(before);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('conv2d forward, filter and input gradients match cpu', async ({ annotate }) => {
    const xs = fixed(2 * 9 * 9 * 3, 101);
    const fs = fixed(3 * 3 * 3 * 4, 202, 0.5);
    const rs = fixed(2 * 9 * 9 * 4, 303);
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(xs, [2, 9, 9, 3]);
      const f = tf.tensor4d(fs, [3, 3, 3, 4]);
      const r = tf.tensor4d(rs, [2, 9, 9, 4]);
      const y = tf.conv2d(x, f, 1, 'same');
      const strided = tf.conv2d(x, f, 2, 'valid');
      const [dx, df] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, 1, 'same'), r)),
      )([x, f]);
      const out = await read([y, strided, dx, df]);
      tf.dispose([x, f, r, y, strided, dx, df]);
      expect(tf.memory().numTensors).toBe(before);
      return out;
    };
    const gpu = await run('webgpu');
    const cpu = await run('cpu');
    const [yErr, sErr, dxErr, dfErr] = gpu.map((g, i) => maxAbsDiff(g, cpu[i]));
    await annotate(
      `[webgpu.test] conv2d 2x9x9x3 * 3x3x3x4 webgpu vs cpu: max |Δy| ${yErr.toExponential(2)}, ` +
        `stride-2 ${sErr.toExponential(2)}, |Δdx| ${dxErr.toExponential(2)}, |Δdfilter| ${dfErr.toExponential(2)}`,
    );
    for (const e of [yErr, sErr, dxErr, dfErr]) expect(e).toBeLessThan(TOL);
  });
});

describe('adapter description (no GPU needed)', () => {
  it("uses Dawn's description, and Chrome's vendor and architecture where description and device are empty", () => {
    const swiftshaderDawn = {
      description: 'SwiftShader driver 5.0.0',
      device: 'SwiftShader Device (Subzero)',
      vendor: 'google',
    };
    expect(describeAdapter({ ...swiftshaderDawn, architecture: 'swiftshader', isFallbackAdapter: 'true' }, true)).toBe(
      'SwiftShader driver 5.0.0 (google swiftshader, SwiftShader Device (Subzero), fallback adapter, Dawn)',
    );
    const chrome = {
      description: '',
      device: '',
      vendor: 'google',
      architecture: 'swiftshader',
      isFallbackAdapter: 'true',
    };
    expect(describeAdapter(chrome, false)).toBe('google swiftshader (fallback adapter)');
    expect(describeAdapter({ vendor: 'nvidia', architecture: 'hopper' }, false)).toBe('nvidia hopper');
    expect(describeAdapter({}, false)).toBe('unknown WebGPU adapter');
  });
});

describe('Vulkan driver rule (no GPU needed)', () => {
  it('finds SwiftShader only where its library exists', () => {
    const icd = findSwiftShaderIcd();
    if (icd !== undefined) expect(icd).toMatch(/vk_swiftshader_icd\.json$/);
  });

  it('never overrides a driver the environment already chose', () => {
    const saved = Object.fromEntries(VULKAN_DRIVER_ENV.map((k) => [k, process.env[k]]));
    try {
      for (const k of VULKAN_DRIVER_ENV) delete process.env[k];
      process.env.VK_DRIVER_FILES = '/opt/my/driver.json';
      const r = configureVulkanDriver({ force: true });
      expect(r.set).toBe(false);
      expect(process.env.VK_ICD_FILENAMES).toBeUndefined();
      if (process.platform === 'linux') expect(r.reason).toMatch(/VK_DRIVER_FILES already set/);
    } finally {
      for (const k of VULKAN_DRIVER_ENV) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Adam, MLP, assertNoLeaks, initBackend, loadCheckpoint, paramSpec } from '@hypernets/core';
import { SplitMnist } from '@hypernets/data';
import { HyperMLP } from '@hypernets/nets';
import { HnetMethod } from './methods/index.js';
import { averageAccuracy, backwardTransfer, forgetting } from './metrics.js';
import { headMasks, outputRegularizer } from './regularizer.js';
import { entropyInference, headLayout, softmaxEntropy, softmaxLogEntropy } from './scenario.js';
import { tinyRun } from './testing/fixture.js';

beforeAll(async () => {
  await initBackend('cpu');
});

const vals = (t: tf.Tensor) => Array.from(t.dataSync());

describe('Adam', () => {
  it('matches tf.train.adam step for step, and candidate() is the step it then takes', () => {
    const a = tf.variable(tf.tensor1d([0.5, -1, 2]));
    const b = tf.variable(tf.tensor1d([0.5, -1, 2]));
    const ours = new Adam([a], { lr: 0.1 });
    const theirs = tf.train.adam(0.1, 0.9, 0.999, 1e-8);
    const f = (v: tf.Variable) => () => tf.sum(tf.mul(tf.square(v), tf.tensor1d([1, 3, 0.5]))) as tf.Scalar;
    for (let s = 0; s < 4; s++) {
      const { grads } = tf.variableGrads(f(a), [a]);
      const cand = ours.candidate([grads[a.name]!]);
      const before = vals(a);
      ours.step([grads[a.name]!]);
      const moved = vals(a).map((x, i) => x - before[i]!);
      vals(cand[0]!).forEach((d, i) => expect(d).toBeCloseTo(moved[i]!, 6));
      theirs.minimize(f(b), false, [b]);
      vals(a).forEach((x, i) => expect(x).toBeCloseTo(vals(b)[i]!, 5));
      tf.dispose([...cand, ...Object.values(grads)]);
    }
  });
});

describe('output regulariser', () => {
  it('(1/k) Σ ‖target − predicted‖² by hand, with and without a head mask', () => {
    const pred = tf.tensor2d([
      [1, 2, 3],
      [0, 0, 1],
    ]);
    const tgt = tf.tensor2d([
      [1, 1, 1],
      [0, 2, 1],
    ]);
    // squared differences [[0, 1, 4], [0, 4, 0]]: sum 9 over k = 2 tasks
    expect(outputRegularizer(pred, tgt).dataSync()[0]).toBeCloseTo(4.5, 6);
    // entries 1.. masked: task 0 keeps entry 1, task 1 keeps entry 2 → (1 + 0) / 2
    const mask = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    expect(outputRegularizer(pred, tgt, { start: 1, mask }).dataSync()[0]).toBeCloseTo(0.5, 6);
    expect(() => outputRegularizer(pred, tf.zeros([2, 2]))).toThrow(/one shape/);
  });

  it('its gradient is (2/k)·m ⊙ (predicted − target) by hand (m: 1 on the body, the mask on the head), and none flows to the targets', () => {
    const pred = tf.tensor2d([
      [1, 2, 3],
      [0, 0, 1],
    ]);
    const tgt = tf.tensor2d([
      [1, 1, 1],
      [0, 2, 1.5],
    ]);
    const mask = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const [gp] = tf.grads((p: tf.Tensor) => outputRegularizer(p, tgt, { start: 1, mask }))([pred]);
    // d = p − t = [[0, 1, 2], [0, −2, −0.5]]; m = [[1, 1, 0], [1, 0, 1]]; (2/2)·m·d
    expect(Array.from(gp!.dataSync())).toEqual([0, 1, 0, 0, 0, -0.5]);
    // the targets are snapshots (hypercl detaches them): no gradient path leads to them
    expect(() => tf.grads((p: tf.Tensor, t: tf.Tensor) => outputRegularizer(p, t))([pred, tgt])).toThrow(
      /Cannot compute gradient/,
    );
    const [g2] = tf.grads((p: tf.Tensor) => tf.mul(outputRegularizer(p, tgt), 3))([pred]);
    expect(Array.from(g2!.dataSync())).toEqual([0, 3, 6, 0, -6, -1.5]); // 3 · (2/2) · d
    expect(() => outputRegularizer(pred, tgt, { start: 1, mask: tf.ones([2, 1]) })).toThrow(
      /head mask must be \[2, 2\]/,
    );
    tf.dispose([pred, tgt, mask, gp!, g2!]);
  });

  it('head masks keep the body and the task’s own head units only', () => {
    const stream = { numTasks: 2, outputsPerTask: 2 };
    const layout = headLayout(stream, 'cl1');
    const target = new MLP({ inputSize: 3, hiddenSizes: [2], outputSize: layout.outputs });
    const hm = headMasks(target.params, layout)!;
    expect(hm.start).toBe(3 * 2 + 2); // fc1.weight + fc1.bias
    // fc2.weight [2, 4] then fc2.bias [4]; task 1 owns units 2, 3
    expect(Array.from(hm.masks[1]!)).toEqual([0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1]);
    expect(Array.from(hm.masks[0]!)).toEqual([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
    expect(headMasks(target.params, headLayout({ numTasks: 2, outputsPerTask: 4 }, 'cl2'))).toBeNull();
    // PyTorch's order: fc2.weight laid out [4 units, 2 inputs], unit-major; the bias is unchanged
    const ht = headMasks(target.params, layout, 'torch')!;
    expect(ht.start).toBe(8);
    expect(Array.from(ht.masks[1]!)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1]);
    expect(Array.from(ht.masks[0]!)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0]);
  });

  it('HnetMethod: regulariser = ‖h(e_0, θ*) − h(e_0, θ)‖² on a tiny hypernet; past embeddings never move', () => {
    const specs = [paramSpec({ name: 'w', shape: [2, 2], kind: 'weight', layer: 0, fanIn: 2, fanOut: 2 })];
    const target = {
      name: 't',
      params: specs,
      inputShape: [2],
      outputShape: [2],
      forward: (x: tf.Tensor, w: Record<string, tf.Tensor>) => tf.matMul(x, w.w!),
    };
    const layout = headLayout({ numTasks: 2, outputsPerTask: 2 }, 'cl2');
    const hnet = new HyperMLP({ target, numConditions: 2, embeddingSize: 3, hiddenSizes: [4], seed: 1 });
    const m = new HnetMethod({ hnet, target, layout, beta: 0.5, lr: 0.05, lookahead: false });
    const batch = () => ({
      x: tf.tensor2d([
        [1, 0],
        [0, 1],
        [1, 1],
      ]),
      y: tf.tensor1d([0, 1, 1], 'int32'),
      yGlobal: tf.tensor1d([0, 1, 1], 'int32'),
      size: 3,
      task: 0,
    });
    m.beginTask(0);
    for (let i = 0; i < 5; i++) tf.dispose(Object.values(m.trainStep(batch(), 0)));
    const h0 = tf.tidy(() => hnet.forward(tf.tensor1d([0], 'int32'), hnet.ownWeights()));
    m.beginTask(1);
    const e0 = vals(hnet.ownWeights().embeddings!).slice(0, 3);
    expect(m.regularizer([0], null).dataSync()[0]).toBeCloseTo(0, 10);
    for (let i = 0; i < 5; i++) {
      const l = m.trainStep({ ...batch(), task: 1 }, 1);
      expect(l.reg).not.toBeNull();
      tf.dispose([l.loss, l.reg!]);
    }
    const h1 = tf.tidy(() => hnet.forward(tf.tensor1d([0], 'int32'), hnet.ownWeights()));
    const byHand = tf.tidy(() => tf.sum(tf.square(tf.sub(h0, h1))).dataSync()[0]!);
    expect(byHand).toBeGreaterThan(0);
    expect(m.regularizer([0], null).dataSync()[0]).toBeCloseTo(byHand, 6);
    expect(vals(hnet.ownWeights().embeddings!).slice(0, 3)).toEqual(e0); // e_0 is frozen while task 1 trains
    tf.dispose([h0, h1]);
    m.dispose();
    hnet.dispose();
  });
});

describe('HnetMethod optimiser per task', () => {
  it('θ keeps its Adam across tasks by default, and gets a fresh one per task with resetOptimizer (hypercl)', () => {
    const specs = [paramSpec({ name: 'w', shape: [2, 2], kind: 'weight', layer: 0, fanIn: 2, fanOut: 2 })];
    const target = {
      name: 't',
      params: specs,
      inputShape: [2],
      outputShape: [2],
      forward: (x: tf.Tensor, w: Record<string, tf.Tensor>) => tf.matMul(x, w.w!),
    };
    const layout = headLayout({ numTasks: 2, outputsPerTask: 2 }, 'cl2');
    const batch = (task: number) => ({
      x: tf.tensor2d([
        [1, 0],
        [0, 1],
      ]),
      y: tf.tensor1d([0, 1], 'int32'),
      yGlobal: tf.tensor1d([0, 1], 'int32'),
      size: 2,
      task,
    });
    for (const reset of [true, false, undefined]) {
      const hnet = new HyperMLP({ target, numConditions: 2, embeddingSize: 3, hiddenSizes: [4], seed: 1 });
      const m = new HnetMethod({ hnet, target, layout, resetOptimizer: reset });
      m.beginTask(0);
      for (let i = 0; i < 3; i++)
        tf.dispose(Object.values(m.trainStep(batch(0), 0)).filter((t) => t !== null) as tf.Tensor[]);
      m.beginTask(1);
      expect(m.state().meta.adamTheta).toBe(reset ? 0 : 3);
      m.dispose();
      hnet.dispose();
    }
  });
});

describe('HNET+ENT task inference', () => {
  it('picks, per sample, the task whose head is least uncertain (constructed case)', () => {
    const layout = headLayout({ numTasks: 2, outputsPerTask: 2 }, 'cl3');
    // outputs [B=3, 4 units] under embedding 0 and 1; head t = units 2t, 2t+1
    const out0 = tf.tensor2d([
      [5, -5, 0, 0],
      [0.1, 0, 9, 9],
      [0, 0.2, 0, 0],
    ]);
    const out1 = tf.tensor2d([
      [0, 0, 0.1, 0],
      [0, 0, -4, 4],
      [0, 0, 0, 0.3],
    ]);
    const { task, label } = entropyInference(layout, [out0, out1]);
    // sample 0: head 0 of out0 is sure (class 0) → task 0, label 0
    // sample 1: head 1 of out1 is sure (local 1) → task 1, global 3
    // sample 2: both nearly uniform; 0.2 vs 0.3 gap: out0's head 0 has the larger gap? no: 0.3 > 0.2 → task 1, local 1 → 3
    expect(vals(task)).toEqual([0, 1, 1]);
    expect(vals(label)).toEqual([0, 3, 3]);
    const h = softmaxEntropy(tf.tensor2d([[0, 0]]));
    expect(h.dataSync()[0]).toBeCloseTo(Math.log(2), 6);
    const one = entropyInference(layout, [out0]); // one task learned so far: nothing to choose
    expect(vals(one.task)).toEqual([0, 0, 0]);
    expect(vals(one.label)).toEqual([0, 0, 1]);
    const cl2 = entropyInference(headLayout({ numTasks: 2, outputsPerTask: 4 }, 'cl2'), [out0, out1]);
    expect(vals(cl2.label)[1]).toBe(3); // cl2 labels are task-local
  });
});

describe('softmax log-entropy', () => {
  it('equals log of the entropy where float32 can hold it, and orders saturated rows that float32 ties at 0', () => {
    const rows = [
      [0, 0],
      [1, -2, 0.5],
      [3, 0, 0],
      [12, 0],
      [0.3, 0.2, 0.1, 0],
    ];
    for (const r of rows) {
      const direct = Math.log(softmaxEntropy(tf.tensor2d([r])).dataSync()[0]!);
      // float64 reference
      const m = Math.max(...r);
      const e = r.map((v) => Math.exp(v - m));
      const Z = e.reduce((a, b) => a + b, 0);
      const H = -e.reduce((a, v) => a + (v / Z) * Math.log(v / Z), 0);
      const ours = softmaxLogEntropy(tf.tensor2d([r])).dataSync()[0]!;
      expect(ours, JSON.stringify(r)).toBeCloseTo(Math.log(H), 4);
      expect(ours).toBeCloseTo(direct, 2); // float32 entropy itself is off by ~1e-3 in log at gap 12
    }
    // gaps 120 and 200: float32 entropy is exactly 0 for both; log H ≈ log(gap + 1) − gap keeps 200 below 120
    const sat = [tf.tensor2d([[120, 0]]), tf.tensor2d([[200, 0]]), tf.tensor2d([[0, 150, 0]])];
    for (const t of sat) expect(Math.abs(softmaxEntropy(t).dataSync()[0]!)).toBe(0);
    const l = sat.map((t) => softmaxLogEntropy(t).dataSync()[0]!);
    expect(l[0]).toBeCloseTo(Math.log(121) - 120, 3);
    expect(l[1]).toBeCloseTo(Math.log(201) - 200, 3);
    expect(l[2]).toBeCloseTo(Math.log(2 * 151) - 150, 3);
    // ENT picks the more confident of two saturated heads, not the first one
    const layout = headLayout({ numTasks: 2, outputsPerTask: 2 }, 'cl3');
    const { task } = entropyInference(layout, [tf.tensor2d([[120, 0, 0, 0]]), tf.tensor2d([[0, 0, 0, 200]])]);
    expect(vals(task)).toEqual([1]);
  });
});

describe('metrics', () => {
  it('average accuracy, backward transfer and forgetting by hand', () => {
    const R = [
      [0.9, null, null],
      [0.8, 0.95, null],
      [0.7, 0.9, 0.99],
    ];
    expect(averageAccuracy(R)).toBeCloseTo((0.7 + 0.9 + 0.99) / 3, 10);
    expect(backwardTransfer(R)).toBeCloseTo((0.7 - 0.9 + (0.9 - 0.95)) / 2, 10);
    expect(forgetting(R)).toBeCloseTo((0.9 - 0.7 + (0.95 - 0.9)) / 2, 10);
  });
});

describe('trainer on real Split-MNIST (tiny)', () => {
  it('learns 3 tasks (every final accuracy > 0.75, mean > 0.88); no tensor leaks across steps', async ({
    annotate,
  }) => {
    const { trainer, method, stream } = await tinyRun({ iterations: 24 });
    const r = await trainer.run();
    const rounded = r.accMatrix.map((row) => row.map((v) => (v === null ? null : +v.toFixed(4))));
    await annotate(`tiny Split-MNIST-3 CL1 HNET: ${JSON.stringify(rounded)}`);
    expect(r.accMatrix.length).toBe(3);
    expect(r.accMatrix[0]![1]).toBeNull();
    for (const v of r.accMatrix[2]!) expect(v!).toBeGreaterThan(0.75);
    expect(r.avgAcc).toBeGreaterThan(0.88);
    const sampler = stream.task(2).train.sampler(32, 1);
    await assertNoLeaks(
      () => {
        const b = sampler.next();
        const l = method.trainStep(b, 2);
        tf.dispose([b.x, b.y, b.yGlobal]);
        return [l.loss, l.reg];
      },
      { steps: 3, label: 'hnet trainStep' },
    );
  });

  it('a run killed with SIGKILL mid-task and resumed ends with the same accuracy matrix', async () => {
    const reference = await (await tinyRun({ iterations: 24 })).trainer.run();
    const dir = mkdtempSync(join(tmpdir(), 'hn-resume-'));
    const child = fileURLToPath(new URL('./testing/resume-child.ts', import.meta.url));
    // Kill twice (in task 0 and in task 1), checking each time that the checkpoint on disk is whole.
    for (const [mode, killAt] of [
      ['fresh', 'checkpoint 0 8'],
      ['resume', 'checkpoint 1 12'],
    ] as const) {
      await new Promise<void>((resolve, reject) => {
        const p = spawn(process.execPath, ['--import', 'tsx', '--conditions=@hypernets/source', child, dir, mode], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        p.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes(killAt)) p.kill('SIGKILL');
        });
        p.stderr.on('data', (d: Buffer) => (err += d.toString()));
        p.on('exit', (code, signal) =>
          signal === 'SIGKILL'
            ? resolve()
            : reject(new Error(`child exited ${code} before '${killAt}': ${out}\n${err.slice(-2000)}`)),
        );
      });
      const ck = await loadCheckpoint(join(dir, 'checkpoint')); // validates sizes and SHA-256
      ck.dispose();
    }
    const resumed = await (await tinyRun({ dir, checkpointEvery: 4 })).trainer.run({ resume: true });
    expect(resumed.accMatrix).toEqual(reference.accMatrix);
  });

  it('CL2 and CL3 (HNET+ENT) runs end to end and report task inference', async ({ annotate }) => {
    for (const scenario of ['cl2', 'cl3'] as const) {
      const r = await (await tinyRun({ scenario, iterations: 12 })).trainer.run();
      expect(r.taskInferenceMatrix, scenario).not.toBeNull();
      expect(r.taskInferenceMatrix![0]![0]).toBe(1); // one task learned: nothing to infer
      const last = r.taskInferenceMatrix![2]!.map((v) => v!);
      await annotate(
        `tiny Split-MNIST-3 ${scenario} HNET+ENT: accuracy ${r.accMatrix[2]!.map((v) => v!.toFixed(3))}, ` +
          `task inference ${last.map((v) => v.toFixed(3))}`,
      );
      // 12 steps per task are too few for ENT to work (the first head is overconfident on
      // every digit); its rule is checked on the constructed case above, its quality by the
      // Split-MNIST CL3 reproduction. Here: values are fractions, and the first task's own data is
      // recognised and classified.
      for (const v of last) expect(v >= 0 && v <= 1).toBe(true);
      for (const v of r.accMatrix[2]!) expect(v! >= 0 && v! <= 1).toBe(true);
      expect(r.taskInferenceMatrix![2]![0]!).toBeGreaterThan(0.9);
      expect(r.accMatrix[2]![0]!).toBeGreaterThan(0.9);
    }
  });

  it('refuses a checkpoint written with another configuration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hn-resume-'));
    await (await tinyRun({ dir, iterations: 4 })).trainer.run();
    await expect(
      (await tinyRun({ dir, iterations: 4, scenario: 'cl3' })).trainer.run({ resume: true }),
    ).rejects.toThrow(/another configuration/);
  });
});

describe('SplitMnist stream contract used by the trainer', () => {
  it('tasks and layout agree', async () => {
    const s = await SplitMnist.load();
    expect(headLayout(s, 'cl1').outputs).toBe(10);
    expect(headLayout(s, 'cl2').outputs).toBe(2);
  });
});

describe('HnetMethod state', () => {
  it('restore(state()) of itself is a no-op, and a restored copy continues bit for bit', async () => {
    const a = await tinyRun({ iterations: 4 });
    const b = await tinyRun({ iterations: 4 });
    const sampler = (s: number) => a.stream.task(1).train.sampler(32, s);
    a.method.beginTask(0);
    a.method.beginTask(1);
    const sa = sampler(1);
    for (let i = 0; i < 3; i++) {
      const bt = sa.next();
      tf.dispose(Object.values(a.method.trainStep(bt, 1)));
      tf.dispose([bt.x, bt.y, bt.yGlobal]);
    }
    a.method.restore(a.method.state());
    b.method.restore(a.method.state());
    const stepBoth = () => {
      const bt = sa.next();
      const la = a.method.trainStep(bt, 1);
      const lb = b.method.trainStep(bt, 1);
      expect(la.loss.dataSync()[0]).toBe(lb.loss.dataSync()[0]);
      expect(la.reg!.dataSync()[0]).toBe(lb.reg!.dataSync()[0]);
      tf.dispose([la.loss, la.reg!, lb.loss, lb.reg!, bt.x, bt.y, bt.yGlobal]);
    };
    stepBoth();
    stepBoth();
    const wa = a.hnet.ownWeights();
    const wb = b.hnet.ownWeights();
    for (const k of Object.keys(wa)) expect(vals(wb[k]!)).toEqual(vals(wa[k]!));
  });
});

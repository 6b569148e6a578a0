import * as tf from '@tensorflow/tfjs-core';
import { MLP, Rng, initBackend, initWeights, linear, shutdownBackend, type Weights } from '@hypernets/core';

export interface DemoOptions {
  backend?: string;
  steps: number;
  seed: number;
  tasksPerBatch: number;
  pointsPerTask: number;
  log?: (line: string) => void;
}

/**
 * A hypernetwork in ~50 lines: an MLP h(c) maps a task condition c = (amplitude, phase) of
 * y = a·sin(x + φ) to all 1,153 weights of a target MLP 1-32-32-1, and learns the whole
 * family at once. Each batch mixes several tasks, so every sample runs with its own generated
 * weight set in one batched target pass (per-sample weights). Prints the loss falling on the
 * training tasks and on tasks it never saw.
 */
export async function runDemo(o: DemoOptions) {
  const log = o.log ?? console.log;
  const info = await initBackend(o.backend);
  log(`backend: ${info.backend} (${info.device})`);
  const rng = new Rng(o.seed);
  const target = new MLP({ inputSize: 1, hiddenSizes: [32, 32], outputSize: 1, activation: 'tanh' });
  const sizes = target.params.map((p) => p.shape.reduce((a, b) => a * b, 1));
  const total = sizes.reduce((a, b) => a + b, 0);

  // Hypernetwork variables: condition (3) → 64 (tanh) → all target weights. The output bias
  // starts at the target's own init, so generated weights begin where direct training would.
  const theta0 = initWeights(target.params, rng);
  const hyper = {
    w1: tf.variable(rng.normal([3, 64], 0, Math.sqrt(1 / 3))),
    b1: tf.variable(tf.zeros([64])),
    w2: tf.variable(rng.normal([64, total], 0, 0.02)),
    b2: tf.variable(tf.concat(target.params.map((p) => tf.reshape(theta0[p.name], [-1])))),
  };
  tf.dispose(Object.values(theta0));

  const generate = (cond: tf.Tensor2D): Weights => {
    const h = tf.tanh(linear(cond, hyper.w1, hyper.b1));
    const flat = linear(h, hyper.w2, hyper.b2); // [tasks, total]
    const parts = tf.split(flat, sizes, 1);
    const out: Weights = {};
    target.params.forEach((p, i) => (out[p.name] = tf.reshape(parts[i], [cond.shape[0], ...p.shape])));
    return out;
  };

  // A batch of tasks: conditions, inputs and targets; task i owns samples i*P .. i*P+P-1.
  const batch = (r: Rng, tasks: number, points: number) => {
    const amp: number[] = [];
    const phase: number[] = [];
    for (let t = 0; t < tasks; t++) {
      amp.push(0.5 + 1.5 * r.uniform());
      phase.push(Math.PI * (2 * r.uniform() - 1));
    }
    return tf.tidy(() => {
      const a = tf.tensor1d(amp);
      const ph = tf.tensor1d(phase);
      const cond = tf.stack([a, tf.cos(ph), tf.sin(ph)], 1) as tf.Tensor2D;
      const x = r.uniformTensor([tasks, points], -Math.PI, Math.PI);
      const y = tf.mul(tf.reshape(a, [tasks, 1]), tf.sin(tf.add(x, tf.reshape(ph, [tasks, 1]))));
      return { cond, x: tf.reshape(x, [tasks * points, 1]), y: tf.reshape(y, [tasks * points, 1]) };
    });
  };

  const owner = tf.tensor1d(
    Array.from({ length: o.tasksPerBatch * o.pointsPerTask }, (_, i) => Math.floor(i / o.pointsPerTask)),
    'int32',
  );
  const lossOf = (b: { cond: tf.Tensor2D; x: tf.Tensor; y: tf.Tensor }) => {
    const perTask = generate(b.cond);
    const perSample: Weights = {};
    for (const [k, w] of Object.entries(perTask)) perSample[k] = tf.gather(w, owner);
    return tf.mean(tf.square(tf.sub(target.forward(b.x, perSample), b.y))) as tf.Scalar;
  };

  const heldOut = batch(new Rng(o.seed + 1000), o.tasksPerBatch, o.pointsPerTask);
  const evalLoss = () => tf.tidy(() => lossOf(heldOut)).dataSync()[0];
  const opt = tf.train.adam(3e-3);
  const start = evalLoss();
  log(
    `target MLP 1-32-32-1: ${total} weights generated per task; hypernetwork: ${3 * 64 + 64 + 64 * total + total} parameters`,
  );
  log(`step     0  held-out loss ${start.toFixed(4)}`);
  const t0 = performance.now();
  let last = start;
  for (let step = 1; step <= o.steps; step++) {
    const b = batch(rng, o.tasksPerBatch, o.pointsPerTask);
    const loss = opt.minimize(() => lossOf(b), true)!;
    tf.dispose([b.cond, b.x, b.y]);
    if (step % Math.max(1, Math.floor(o.steps / 10)) === 0 || step === o.steps) {
      const train = (await loss.data())[0];
      last = evalLoss();
      log(`step ${String(step).padStart(5)}  train loss ${train.toFixed(4)}  held-out loss ${last.toFixed(4)}`);
    }
    loss.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  log(`held-out loss ${start.toFixed(4)} → ${last.toFixed(4)} in ${o.steps} steps, ${seconds.toFixed(1)} s`);
  tf.dispose([owner, heldOut.cond, heldOut.x, heldOut.y, ...Object.values(hyper)]);
  opt.dispose();
  await shutdownBackend();
  return { start, end: last, seconds, backend: info.backend };
}

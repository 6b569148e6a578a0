// The per-sample demo's computation, with no DOM: the page runs it, and the end-to-end test runs
// exactly the same code in Node (same seed, same budget) to check the number the page shows.
// Only the packages' public API is used.
import * as tf from '@tensorflow/tfjs-core';
import { MLP, Rng, mse } from '@hypernets/core';
import { HyperMLP } from '@hypernets/nets';

/**
 * The family y = A·sin(x + φ), A ∈ [0.5, 2], φ ∈ [0, π], x ∈ [−π, π]. A hypernetwork maps the
 * condition γ = ((A − 0.5)/1.5, φ/π) ∈ [0, 1]² to all 337 weights of a target MLP 1-16-16-1.
 * Predicting 0 everywhere scores E[y²] = E[A²]/2 = 0.875.
 */
export const A_RANGE = [0.5, 2] as const;
export const PHI_RANGE = [0, Math.PI] as const;
export const X_RANGE = [-Math.PI, Math.PI] as const;
export const BASELINE_MSE = 0.875;

export interface SineOptions {
  /** Seeds the hypernetwork's initial weights and the training batches; held-out data uses seed + 1000. */
  seed: number;
  /** Adam steps. */
  steps: number;
  /** Functions (conditions) per step. */
  tasksPerStep: number;
  /** Points per function per step. */
  pointsPerTask: number;
  /** Adam's learning rate. */
  learningRate: number;
  /** Held-out set: functions × points, never trained on. */
  heldOutTasks: number;
  heldOutPoints: number;
  /** The hypernetwork's hidden widths. */
  hiddenSizes: readonly number[];
}

/** The page's default budget. */
export const FULL: SineOptions = {
  seed: 7,
  steps: 600,
  tasksPerStep: 16,
  pointsPerTask: 16,
  learningRate: 1e-2,
  heldOutTasks: 32,
  heldOutPoints: 32,
  hiddenSizes: [32, 32],
};

/**
 * `?quick=1` (and the tests): a short budget that still learns the family (held-out MSE ~0.011, against 0.875
 * for predicting 0). Sized for WebGPU on SwiftShader, where a step costs ~0.5 s at 64 samples (~2 s at 256).
 */
export const QUICK: SineOptions = { ...FULL, steps: 150, tasksPerStep: 8, pointsPerTask: 8 };

export interface Condition {
  amplitude: number;
  phase: number;
}

/** γ for the hypernetwork: both coordinates in [0, 1]. */
export function gamma(c: Condition): [number, number] {
  return [
    (c.amplitude - A_RANGE[0]) / (A_RANGE[1] - A_RANGE[0]),
    (c.phase - PHI_RANGE[0]) / (PHI_RANGE[1] - PHI_RANGE[0]),
  ];
}

export function trueCurve(c: Condition, xs: readonly number[]): number[] {
  return xs.map((x) => c.amplitude * Math.sin(x + c.phase));
}

/** n evenly spaced points over X_RANGE. */
export function grid(n: number): number[] {
  return Array.from({ length: n }, (_, i) => X_RANGE[0] + ((X_RANGE[1] - X_RANGE[0]) * i) / (n - 1));
}

export interface Progress {
  step: number;
  /** Training loss of this step's batch. */
  loss: number;
}

export interface TrainResult {
  /** Held-out MSE before training and after it. */
  initialMse: number;
  heldOutMse: number;
  steps: number;
  seconds: number;
  curve: Progress[];
}

export interface TimingResult {
  /** Conditions in the batch (one generated weight set each). */
  batch: number;
  /** Points per condition. */
  points: number;
  /** Median milliseconds of generate + one batched target forward, read back. */
  ms: number;
}

interface Batch {
  cond: tf.Tensor2D;
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

/** Host-side sampling (deterministic for a seed on every backend): each point carries its function's γ. */
function sampleBatch(rng: Rng, tasks: number, points: number): Batch {
  const cond: number[] = [];
  const xs: number[] = [];
  const ys: number[] = [];
  for (let t = 0; t < tasks; t++) {
    const g0 = rng.uniform();
    const g1 = rng.uniform();
    const amplitude = A_RANGE[0] + (A_RANGE[1] - A_RANGE[0]) * g0;
    const phase = PHI_RANGE[0] + (PHI_RANGE[1] - PHI_RANGE[0]) * g1;
    for (let i = 0; i < points; i++) {
      const x = X_RANGE[0] + (X_RANGE[1] - X_RANGE[0]) * rng.uniform();
      cond.push(g0, g1);
      xs.push(x);
      ys.push(amplitude * Math.sin(x + phase));
    }
  }
  const n = xs.length;
  return { cond: tf.tensor2d(cond, [n, 2]), x: tf.tensor2d(xs, [n, 1]), y: tf.tensor2d(ys, [n, 1]) };
}

const disposeBatch = (b: Batch) => tf.dispose([b.cond, b.x, b.y]);

/**
 * A hypernetwork over the sine family: train it, then generate a weight set per condition and run
 * the target MLP once over a whole batch of conditions (per-sample weights).
 */
export class SineDemo {
  readonly options: SineOptions;
  readonly target = new MLP({ inputSize: 1, hiddenSizes: [16, 16], outputSize: 1, activation: 'tanh' });
  readonly hnet: HyperMLP;
  private readonly heldOut: Batch;

  constructor(options: Partial<SineOptions> = {}) {
    this.options = { ...FULL, ...options };
    this.hnet = new HyperMLP({
      target: this.target,
      conditionSize: 2,
      hiddenSizes: this.options.hiddenSizes,
      mip: true,
      seed: this.options.seed,
    });
    this.heldOut = sampleBatch(
      new Rng(this.options.seed + 1000),
      this.options.heldOutTasks,
      this.options.heldOutPoints,
    );
  }

  /** Number of target weights generated per condition. */
  get weightsPerCondition(): number {
    return this.target.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  }

  private loss(b: Batch): tf.Scalar {
    // One generated weight set per point: the target runs once, sample i with set i.
    return mse(this.target.forward(b.x, this.hnet.generate({ input: b.cond })), b.y) as tf.Scalar;
  }

  async heldOutMse(): Promise<number> {
    const l = tf.tidy(() => this.loss(this.heldOut));
    const v = (await l.data())[0]!;
    l.dispose();
    return v;
  }

  /**
   * Trains for `options.steps` Adam steps. Every `reportEvery` steps the batch loss is read back
   * and `onProgress` awaited (the page redraws and yields to the browser there); neither changes
   * the computation.
   */
  async train(onProgress?: (p: Progress) => unknown, reportEvery = 10): Promise<TrainResult> {
    const o = this.options;
    const initialMse = await this.heldOutMse();
    const rng = new Rng(o.seed);
    const opt = tf.train.adam(o.learningRate);
    const curve: Progress[] = [];
    const t0 = performance.now();
    try {
      for (let step = 1; step <= o.steps; step++) {
        const b = sampleBatch(rng, o.tasksPerStep, o.pointsPerTask);
        const loss = opt.minimize(() => this.loss(b), true, this.hnet.trainableVariables());
        disposeBatch(b);
        if (step % reportEvery === 0 || step === o.steps) {
          const p = { step, loss: (await loss!.data())[0]! };
          curve.push(p);
          await onProgress?.(p);
        }
        loss?.dispose();
      }
    } finally {
      opt.dispose();
    }
    const heldOutMse = await this.heldOutMse();
    return { initialMse, heldOutMse, steps: o.steps, seconds: (performance.now() - t0) / 1000, curve };
  }

  /**
   * The generated networks' outputs for a batch of conditions at the points xs: generate B weight
   * sets, give each of the B·P samples its condition's set and run the target once. Returns B rows
   * of P values.
   */
  async curves(conditions: readonly Condition[], xs: readonly number[]): Promise<Float32Array[]> {
    const B = conditions.length;
    const P = xs.length;
    const y = tf.tidy(() => this.batchedForward(conditions, xs));
    const flat = (await y.data()) as Float32Array;
    y.dispose();
    return Array.from({ length: B }, (_, i) => flat.slice(i * P, (i + 1) * P));
  }

  private batchedForward(conditions: readonly Condition[], xs: readonly number[]): tf.Tensor {
    const B = conditions.length;
    const P = xs.length;
    const cond = tf.tensor2d(conditions.flatMap(gamma), [B, 2]);
    const perCondition = this.hnet.generate({ input: cond }); // each tensor [B, ...shape]
    const owner = tf.tensor1d(
      Array.from({ length: B * P }, (_, i) => Math.floor(i / P)),
      'int32',
    );
    const perSample: Record<string, tf.Tensor> = {};
    for (const [name, w] of Object.entries(perCondition)) perSample[name] = tf.gather(w, owner);
    const x = tf.tensor2d(
      Array.from({ length: B * P }, (_, i) => xs[i % P]!),
      [B * P, 1],
    );
    return this.target.forward(x, perSample);
  }

  /** Median time of generate + batched forward + read-back for B conditions × P points. */
  async time(B: number, P: number, repeats = 5): Promise<TimingResult> {
    const conditions = Array.from({ length: B }, (_, i) => ({
      amplitude: A_RANGE[0] + ((A_RANGE[1] - A_RANGE[0]) * (i + 0.5)) / B,
      phase: PHI_RANGE[0] + ((PHI_RANGE[1] - PHI_RANGE[0]) * ((i * 7) % B)) / B,
    }));
    const xs = grid(P);
    await this.curves(conditions, xs); // warm-up: shader compilation, kernel set-up
    const ms: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      await this.curves(conditions, xs);
      ms.push(performance.now() - t0);
    }
    ms.sort((a, b) => a - b);
    return { batch: B, points: P, ms: ms[Math.floor(ms.length / 2)]! };
  }

  dispose(): void {
    disposeBatch(this.heldOut);
    this.hnet.dispose();
  }
}

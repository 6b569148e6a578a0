/**
 * MIP vs plain hypernetwork on the same task, same seeds: loss curves.
 *
 *   cd packages/nets && pnpm exec tsx --conditions=@hypernets/source examples/mip-vs-plain.ts [--steps 1500] [--seeds 3] [--backend wasm]
 *
 * Task: sine regression conditioned on (amplitude, phase), γ ∈ [0, 1]² (see src/testing/sine-task.ts);
 * the target MLP 1-16-16-1 runs with per-sample weights. Both hypernetworks are HyperMLPs with
 * hidden [32, 32] and hyperfan-in init; MIP adds the cos/sin input encoding and the learned
 * residual θ₀ (Ortiz et al. 2024). Writes examples/results/mip-vs-plain.{svg,png,json}.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, initBackend, mse, type BackendName } from '@hypernets/core';
import { HyperMLP } from '../src/hmlp.js';
import { batch, target } from '../src/testing/sine-task.js';
import { lineChartSpec, renderPlot } from '@hypernets/plot';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '1500' },
    seeds: { type: 'string', default: '3' },
    backend: { type: 'string', default: 'wasm' },
    lr: { type: 'string', default: '1e-3' },
  },
});
const steps = Number(values.steps);
const seeds = Number(values.seeds);
const lr = Number(values.lr);
const every = 25;
const chosen = await initBackend(values.backend as BackendName);
console.log(`backend ${chosen.backend}; ${steps} steps × ${seeds} seeds, Adam ${lr}, batch 8 tasks × 16 points`);

const test = batch(new Rng(999), 64, 32);
const testLoss = (h: HyperMLP) =>
  tf.tidy(() => mse(target.forward(test.x, h.generate({ input: test.cond })), test.y).dataSync()[0]!);

const rows: { x: number; y: number; series: string }[] = [];
const finals: Record<string, number[]> = { plain: [], MIP: [] };
const curves: Record<string, number[][]> = { plain: [], MIP: [] };
for (const label of ['plain', 'MIP'] as const) {
  for (let s = 0; s < seeds; s++) {
    const h = new HyperMLP({ target, conditionSize: 2, hiddenSizes: [32, 32], mip: label === 'MIP', seed: 100 + s });
    const opt = tf.train.adam(lr);
    const rng = new Rng(200 + s); // same data stream for both models
    const curve: number[] = [testLoss(h)];
    const t0 = performance.now();
    for (let i = 1; i <= steps; i++) {
      const b = batch(rng, 8, 16);
      opt.minimize(() => mse(target.forward(b.x, h.generate({ input: b.cond })), b.y), false, h.trainableVariables());
      tf.dispose([b.cond, b.x, b.y]);
      if (i % every === 0) curve.push(testLoss(h));
    }
    const ms = performance.now() - t0;
    curves[label].push(curve);
    finals[label].push(curve[curve.length - 1]!);
    console.log(
      `${label} seed ${s}: test MSE ${curve[0]!.toFixed(4)} → ${curve[curve.length - 1]!.toFixed(4)} (${(ms / steps).toFixed(2)} ms/step)`,
    );
    opt.dispose();
    h.dispose();
  }
  // mean curve over seeds, plus each seed faintly
  const n = curves[label][0]!.length;
  for (let k = 0; k < n; k++) {
    const mean = curves[label].reduce((a, c) => a + c[k]!, 0) / seeds;
    rows.push({ x: k * every, y: mean, series: label });
  }
}

// Steps to reach a loss threshold: the convergence difference in one number.
const threshold = 0.05;
const stepsTo = (c: number[]) => {
  const k = c.findIndex((v) => v < threshold);
  return k < 0 ? null : k * every;
};
const summary = {
  task: 'sine(amplitude, phase), HyperMLP [32, 32] → MLP 1-16-16-1',
  backend: chosen.backend,
  steps,
  lr,
  seeds,
  final: finals,
  stepsToThreshold: { threshold, plain: curves.plain.map(stepsTo), MIP: curves.MIP.map(stepsTo) },
};
console.log(JSON.stringify(summary));
const out = join(dirname(fileURLToPath(import.meta.url)), 'results');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'mip-vs-plain.json'), JSON.stringify({ ...summary, curves }, null, 1));
await renderPlot(
  lineChartSpec({
    title: `MIP vs plain HyperMLP (mean test MSE of ${seeds} seeds, Adam ${lr})`,
    rows,
    xTitle: 'training step',
    yTitle: 'test MSE (log scale)',
  }),
  join(out, 'mip-vs-plain'),
);
console.log(`wrote ${join(out, 'mip-vs-plain')}.{svg,png,json}`);
tf.dispose([test.cond, test.x, test.y]);

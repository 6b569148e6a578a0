// Diagnostic for HNET+ENT runs (cl2/cl3): for a finished `hypernets continual --method hnet` run
// directory, the mean softmax entropy of each task's model (its embedding and head) on every task's
// test data, and which model has the lowest entropy — the one ENT picks — on what share of each
// task's test samples. Usage, from apps/cli:
//   pnpm exec tsx --conditions=@hypernets/source src/ent-matrix.ts <run dir>
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, loadCheckpoint } from '@hypernets/core';
import { entropyInference, headLayout, type HnetMethod } from '@hypernets/continual';
import { headLogits, softmaxEntropy } from '@hypernets/continual/internal';
import { disposeBatch } from '@hypernets/data';
import { readFileSync } from 'node:fs';
import { buildMethod, buildStream } from './continual/run.js';
const dir = process.argv[2];
if (!dir) {
  console.error('usage: ent-matrix.ts <run dir of a finished hnet run>');
  process.exit(2);
}
const r = JSON.parse(readFileSync(`${dir}/results.json`, 'utf8'));
const cfg = { ...r.config, backend: 'wasm' };
await initBackend('wasm');
const stream = await buildStream(cfg);
const layout = headLayout(stream, cfg.scenario);
const { method } = buildMethod(cfg, stream, layout);
const ck = await loadCheckpoint(`${dir}/checkpoint`);
const meta = ck.meta as { continual?: { method: Record<string, unknown> } };
if (!meta.continual || cfg.method !== 'hnet') {
  console.error(`${dir}: not a continual hnet run`);
  process.exit(2);
}
method.restore({ tensors: ck.tensors, meta: meta.continual.method });
ck.dispose();
const T = cfg.tasks;
console.log(
  'mean entropy of model e (rows) on task j test data (cols); and share of task j samples whose lowest entropy is model e',
);
const H: number[][] = [],
  W: number[][] = [];
for (let e = 0; e < T; e++) {
  H.push(Array(T).fill(0));
  W.push(Array(T).fill(0));
}
for (let j = 0; j < T; j++) {
  let n = 0;
  for (const b of stream.task(j).test.batches(1000)) {
    const outs = Array.from({ length: T }, (_, e) => (method as unknown as HnetMethod).outputs(b.x, e));
    const ents = tf.tidy(() =>
      tf.stack(
        outs.map((o, e) => softmaxEntropy(headLogits(layout, o, e))),
        1,
      ),
    );
    const picked = entropyInference(layout, outs); // the evaluation's own rule
    const v = ents.arraySync() as number[][];
    for (const row of v) row.forEach((x, e) => (H[e]![j] += x));
    for (const m of picked.task.arraySync()) W[m]![j] += 1;
    n += v.length;
    tf.dispose([ents, picked.task, picked.label, ...outs]);
    disposeBatch(b);
  }
  for (let e = 0; e < T; e++) {
    H[e]![j] /= n;
    W[e]![j] /= n;
  }
}
for (let e = 0; e < T; e++)
  console.log(
    `model ${e}: ` +
      H[e]!.map((x) => x.toExponential(2).padStart(9)).join(' ') +
      '   | ' +
      W[e]!.map((x) => (100 * x).toFixed(1).padStart(5)).join(' '),
  );
process.exit(0);

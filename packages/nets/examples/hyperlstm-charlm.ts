/**
 * Character-level language model: HyperLSTM (Ha, Dai & Le 2016) vs @hypernets/core's plain
 * LSTM of about the same number of parameters, on a text that ships with the install
 * (TypeScript's ThirdPartyNoticeText.txt / LICENSE.txt; a generated corpus if neither is
 * found), on the wasm backend. Prints validation bits per character for both.
 *
 *   cd packages/nets && pnpm exec tsx --conditions=@hypernets/source examples/hyperlstm-charlm.ts \
 *     [--steps 300] [--hidden 128] [--hyper 32] [--embedding 8] [--seq 32] [--batch 16] [--backend wasm]
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  LSTM,
  Rng,
  createVariables,
  initBackend,
  softmaxCrossEntropy,
  type BackendName,
  type Weights,
} from '@hypernets/core';
import { HyperLSTM } from '../src/hyperlstm.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1]!);
const num = (k: string, d: number) => (args.has(k) ? Number(args.get(k)) : d);
const STEPS = num('steps', 300);
const H = num('hidden', 128);
const HYPER = num('hyper', 32);
const EMB = num('embedding', 8);
const T = num('seq', 32);
const BATCH = num('batch', 16);
const INPUT = 32; // character embedding width
const LR = 3e-3;

function loadText(): { text: string; source: string } {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    resolve(here, '../../../node_modules/typescript/ThirdPartyNoticeText.txt'),
    resolve(here, '../../../node_modules/typescript/LICENSE.txt'),
    resolve(here, '../node_modules/@tensorflow/tfjs-backend-wasm/README.md'),
  ];
  const found = candidates.filter((p) => existsSync(p));
  if (found.length > 0)
    return {
      text: found.map((p) => readFileSync(p, 'utf8')).join('\n'),
      source: found.map((p) => p.split('node_modules/')[1]).join(' + '),
    };
  // Fallback: a seeded toy grammar.
  const rng = new Rng(0);
  const nouns = ['cat', 'dog', 'bird', 'tree', 'river', 'house', 'child', 'garden'];
  const verbs = ['sees', 'finds', 'likes', 'follows', 'watches'];
  const adj = ['small', 'old', 'green', 'quiet', 'bright'];
  const pick = (a: string[]) => a[rng.int(0, a.length - 1)]!;
  let s = '';
  while (s.length < 40000) s += `the ${pick(adj)} ${pick(nouns)} ${pick(verbs)} the ${pick(nouns)}. `;
  return { text: s, source: 'generated toy grammar' };
}

const { text: raw, source } = loadText();
const text = raw.replace(/\r/g, '').replace(/[^\x20-\x7e\n]/g, ' ');
const chars = [...new Set(text)].sort();
const V = chars.length;
const index = new Map(chars.map((c, i) => [c, i]));
const ids = Int32Array.from([...text], (c) => index.get(c)!);
// Every 10th block of 2,000 characters is held out, so both splits mix all source files.
const BLOCK = 2000;
const trainParts: number[] = [];
const validParts: number[] = [];
for (let b = 0; b * BLOCK < ids.length; b++)
  (b % 10 === 9 ? validParts : trainParts).push(...ids.subarray(b * BLOCK, (b + 1) * BLOCK));
const train = Int32Array.from(trainParts);
const valid = Int32Array.from(validParts);

const backend = await initBackend((args.get('backend') ?? 'wasm') as BackendName);
console.log(
  `backend ${backend.tfjsBackend} (${backend.device}); text: ${source}, ${ids.length} chars, vocab ${V}; train ${train.length}, valid ${valid.length}`,
);

interface Model {
  label: string;
  numParams: number;
  variables: tf.Variable[];
  logits: (x: tf.Tensor) => tf.Tensor;
}

function hyperModel(): Model {
  const net = new HyperLSTM({
    inputSize: INPUT,
    hiddenSize: H,
    hyperHiddenSize: HYPER,
    hyperEmbeddingSize: EMB,
    vocabSize: V,
    outputSize: V,
    seqLength: T,
    seed: 1,
  });
  return {
    label: `HyperLSTM H=${H} Ĥ=${HYPER} E=${EMB}`,
    numParams: net.numParams,
    variables: net.trainableVariables(),
    logits: (x) => net.forward(x, net.ownWeights()),
  };
}

/** The plain LSTM's hidden size with about `target` parameters (embedding and head included). */
function lstmHiddenFor(target: number): number {
  let h = 1;
  const count = (k: number) => V * INPUT + INPUT * 4 * k + k * 4 * k + 4 * k + k * V + V;
  while (count(h + 1) <= target) h++;
  return h;
}

function lstmModel(targetParams: number): Model {
  const hidden = lstmHiddenFor(targetParams);
  const net = new LSTM({
    inputSize: INPUT,
    hiddenSize: hidden,
    seqLength: T,
    vocabSize: V,
    outputSize: V,
    output: 'sequence',
  });
  const vars = createVariables(net.params, new Rng(1));
  const weights: Weights = vars;
  const n = net.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
  return {
    label: `LSTM H=${hidden}`,
    numParams: n,
    variables: net.params.map((p) => vars[p.name]!),
    logits: (x) => net.forward(x, weights),
  };
}

function batchOf(source: Int32Array, starts: number[]): { x: tf.Tensor; y: tf.Tensor } {
  const xs = new Int32Array(starts.length * T);
  const ys = new Int32Array(starts.length * T);
  starts.forEach((s, b) => {
    xs.set(source.subarray(s, s + T), b * T);
    ys.set(source.subarray(s + 1, s + T + 1), b * T);
  });
  return { x: tf.tensor2d(xs, [starts.length, T], 'int32'), y: tf.tensor2d(ys, [starts.length, T], 'int32') };
}

/** Teacher-forced bits per character over every full window of the validation text (state reset per window). */
async function validBpc(m: Model): Promise<number> {
  const starts: number[] = [];
  for (let s = 0; s + T + 1 <= valid.length; s += T) starts.push(s);
  let total = 0;
  for (let i = 0; i < starts.length; i += 64) {
    const chunk = starts.slice(i, i + 64);
    const { x, y } = batchOf(valid, chunk);
    const ce = tf.tidy(() => softmaxCrossEntropy(m.logits(x), y));
    total += (await ce.data())[0]! * chunk.length;
    tf.dispose([x, y, ce]);
  }
  return total / starts.length / Math.LN2;
}

async function trainModel(m: Model): Promise<{ bpc: number; seconds: number }> {
  const opt = tf.train.adam(LR);
  const rng = new Rng(7); // same batches for both models
  const t0 = performance.now();
  for (let step = 1; step <= STEPS; step++) {
    const starts = Array.from({ length: BATCH }, () => rng.int(0, train.length - T - 2));
    const { x, y } = batchOf(train, starts);
    const loss = opt.minimize(() => softmaxCrossEntropy(m.logits(x), y), true, m.variables)!;
    if (step % 50 === 0 || step === STEPS) {
      const l = (await loss.data())[0]!;
      console.log(
        `  ${m.label} step ${step}/${STEPS}: train bpc ${(l / Math.LN2).toFixed(3)} (${((performance.now() - t0) / step).toFixed(0)} ms/step)`,
      );
    }
    tf.dispose([x, y, loss]);
  }
  const seconds = (performance.now() - t0) / 1000;
  const bpc = await validBpc(m);
  opt.dispose();
  return { bpc, seconds };
}

const counts = new Float64Array(V);
for (const c of train) counts[c]++;
let unigram = 0;
for (const c of valid) unigram -= Math.log2(Math.max(counts[c]!, 0.5) / train.length);
unigram /= valid.length;

const hyper = hyperModel();
const plain = lstmModel(hyper.numParams);
console.log(
  `${hyper.label}: ${hyper.numParams} params; ${plain.label}: ${plain.numParams} params; ${STEPS} Adam steps (lr ${LR}), batch ${BATCH} × T=${T}`,
);
const results: string[] = [];
for (const m of [hyper, plain]) {
  const before = await validBpc(m);
  const r = await trainModel(m);
  results.push(
    `${m.label} (${m.numParams} params): valid bpc ${before.toFixed(3)} → ${r.bpc.toFixed(3)} in ${r.seconds.toFixed(1)} s`,
  );
}
console.log(`baselines: uniform ${Math.log2(V).toFixed(3)} bpc, unigram (train counts) ${unigram.toFixed(3)} bpc`);
for (const r of results) console.log(r);

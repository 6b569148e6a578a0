import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Adam, softmaxCrossEntropy, tensorsToSafetensors } from '@hypernets/core';
import { AdapterModel, UseLite } from '@hypernets/adapters';
import { perBackendSteps } from './timing.js';
import { ensureTorch, reportAgainstTorch, runTorchScript } from './torch.js';

const BATCH = 32;
const LENGTH = 64;
const LR = 3e-4;
const SMOOTHING = 0.1;

/** 32 short texts, tokenised into one stream that the batch's rows are cut from. */
const TEXTS = [
  'The committee approved the new budget after a long debate on Tuesday evening.',
  'I could not put this book down; the characters felt like old friends by the end.',
  'Heavy rain is expected across the northern valleys for the rest of the week.',
  'The update broke the login page, and support has not answered my ticket yet.',
  'She planted tomatoes, basil and two rows of beans along the garden fence.',
  'Researchers found that the enzyme works twice as fast at higher temperatures.',
  'The service was slow, the soup was cold, and the bill was wrong twice.',
  'A small bakery on the corner sells the best cinnamon rolls in town.',
  'Shares of the company fell sharply after the quarterly earnings missed forecasts.',
  'The museum reopened its east wing with a collection of early photographs.',
  'He missed the last train home and walked for an hour through the snow.',
  'This phone charges quickly, but the battery barely lasts through the afternoon.',
  'The team scored twice in the final minutes to win the championship.',
  'Please remember to bring your passport and a printed copy of the booking.',
  'The film is beautifully shot, although the story drags in the middle.',
  'Local volunteers cleaned three miles of beach over the weekend.',
  'The new library has quiet rooms, fast internet and friendly staff.',
  'Traffic on the bridge was stopped for hours after a truck lost its load.',
  'Our flight was delayed, then cancelled, and nobody explained why.',
  'The recipe needs two eggs, a cup of flour and a pinch of salt.',
  'Scientists observed a comet passing unusually close to the sun.',
  'The hotel room was spotless and the view over the harbour was stunning.',
  'Parents asked the school board to extend the after-school programme.',
  'I returned the headphones because the left speaker kept crackling.',
  'The orchestra played a programme of Brahms and Dvořák to a full hall.',
  'Farmers are worried that the dry spring will hurt this year’s harvest.',
  'The software engineer fixed the memory leak in less than a day.',
  'Nothing about this game is fun; the controls are clumsy and unresponsive.',
  'The city plans to add forty kilometres of protected bike lanes.',
  'After years of work, the bridge over the river finally opened to traffic.',
  'The coffee here is strong, cheap and served with a smile.',
  'Doctors recommend at least seven hours of sleep for most adults.',
];

/** Row lengths of the batch: a fixed pattern in [12, 64], the longest exactly 64 (so T = 64). */
const lengthOf = (i: number) => (i === 0 ? LENGTH : 12 + ((i * 37) % (LENGTH - 12)));

/** The batch's token ids (real text, row i of length lengthOf(i)) and labels (i mod 2). */
function batch(use: UseLite): { ids: number[][]; labels: number[] } {
  const stream = use.tokenize(TEXTS).flat();
  const ids = Array.from({ length: BATCH }, (_, i) => {
    const n = lengthOf(i);
    const at = (i * 53) % (stream.length - n);
    return stream.slice(at, at + n);
  });
  return { ids, labels: ids.map((_, i) => i % 2) };
}

/**
 * One training step of HyperFormer++ (task/layer/block embeddings 64, projector 192 → 128 → 64 +
 * LN, one generator 64 → 17,936 making the adapters at the 4 sites) on the frozen pretrained
 * Universal Sentence Encoder lite: @hypernets/adapters' AdapterModel and the step AdapterTrainer
 * takes (logits of 32 texts padded to 64 tokens, cross-entropy with label smoothing 0.1,
 * tf.variableGrads, core's Adam at lr 3e-4 for the shared hypernetwork and for the head), on each
 * tfjs backend, next to the same model written in PyTorch (python/hyperformer_step.py) on the CPU.
 * The first backend's initial variables, the backbone weights and the batch go to the PyTorch
 * side in a temporary .safetensors file, and both first-step losses are printed (they must agree
 * within 1e-4 relative).
 */
export async function hyperformerStep(o: { backends: string[]; steps: number; warmup: number; torchThreads: number }) {
  const dir = mkdtempSync(join(tmpdir(), 'hyperformer-step-'));
  const file = join(dir, 'state.safetensors');
  let exported = false;
  const loss0: Record<string, number> = {};
  try {
    const { ms, cpuMs, warmupSteps } = await perBackendSteps(o, async () => {
      const backend = tf.getBackend();
      const use = await UseLite.load();
      const model = AdapterModel.create(use, 'hyperformer++', [{ name: 't', kind: 'single', labels: ['a', 'b'] }]);
      const { ids, labels } = batch(use);
      if (!exported) {
        const c = use.net.constants;
        const extra = {
          'batch.ids': UseLite.pad(ids),
          'batch.labels': tf.tensor1d(labels, 'int32'),
          'const.inverse_timescales': tf.tensor1d(c.inverseTimescales),
          'const.query_scales': tf.tensor1d([...c.queryScales]),
          'const.eps': tf.tensor1d([c.normEps, c.l2Eps]),
        };
        const backbone = Object.fromEntries(Object.entries(use.weights).map(([k, v]) => [`backbone.${k}`, v]));
        writeFileSync(file, await tensorsToSafetensors({ ...model.variables(), ...backbone, ...extra }));
        tf.dispose(Object.values(extra));
        exported = true;
      }
      const shared = Object.values(model.method.shared);
      const head = Object.values(model.taskVariables(0));
      const sharedAdam = new Adam(shared, { lr: LR });
      const headAdam = new Adam(head, { lr: LR });
      const targets = tf.tidy(() =>
        tf.add(tf.mul(tf.oneHot(tf.tensor1d(labels, 'int32'), 2), 1 - SMOOTHING), SMOOTHING / 2),
      );
      let first = true;
      return {
        step: async () => {
          const { value, grads } = tf.variableGrads(
            () => softmaxCrossEntropy(model.logits(0, ids), targets),
            [...shared, ...head],
          );
          sharedAdam.step(shared.map((v) => grads[v.name] ?? null));
          headAdam.step(head.map((v) => grads[v.name] ?? null));
          tf.dispose(Object.values(grads));
          const loss = (await value.data())[0]!;
          value.dispose();
          if (first) [loss0[backend], first] = [loss, false];
        },
        dispose: () => {
          sharedAdam.dispose();
          headAdam.dispose();
          targets.dispose();
          model.dispose();
          use.dispose();
        },
      };
    });
    // The check: PyTorch's loss of the first step from the same weights and batch.
    let torchLoss0: number | null = null;
    let lossRelDiff: number | null = null;
    if (exported && !ensureTorch()) {
      torchLoss0 = runTorchScript('hyperformer_step.py', ['check', file], o.torchThreads).torch_loss0 as number;
      for (const [b, l] of Object.entries(loss0)) {
        const rel = Math.abs(l - torchLoss0) / Math.abs(torchLoss0);
        lossRelDiff = Math.max(lossRelDiff ?? 0, rel);
        console.log(
          `${b.padEnd(7)} first-step loss ${l.toPrecision(8)}, PyTorch ${torchLoss0.toPrecision(8)}: ` +
            `relative difference ${rel.toExponential(2)} ${rel <= 1e-4 ? '(≤ 1e-4, the same computation)' : '(> 1e-4: NOT THE SAME COMPUTATION)'}`,
        );
      }
    }
    reportAgainstTorch(
      'hyperformer-step',
      ms,
      'hyperformer_step.py',
      [o.steps, warmupSteps, o.torchThreads, file],
      o.torchThreads,
      `median of ${o.steps}`,
      { batch: BATCH, length: LENGTH, loss0, torch_loss0: torchLoss0, loss_rel_diff: lossRelDiff },
      cpuMs,
      1.5, // the target for this workload
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

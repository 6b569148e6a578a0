import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  Rng,
  countParams,
  initBackend,
  shutdownBackend,
  tensorsToSafetensors,
  toTorchWeights,
  torchShape,
} from '@hypernets/core';
import { writeFileAtomic } from '@hypernets/core/internal';
import { ImageSplit, loadMnist } from '@hypernets/data';
import {
  GHN2,
  GHN3,
  GhnTrainer,
  LoGAH,
  archGraph,
  archSample,
  evaluateArchs,
  loadGhn,
  saveGhn,
  type ArchSample,
  type ArchSource,
  type ArchsEvaluation,
  type GhnTrainEvent,
} from '@hypernets/graph';
import { missingWeights } from '@hypernets/graph/internal';
import { trainFingerprint, type GhnEvalOptions, type GhnPredictOptions, type GhnTrainOptions } from './options.js';
import { writeEvalReport, writeTrainReport, type EvalSummary, type TrainSummary } from './report.js';
import { splitSource, trainSource } from './sources.js';
import { zooNet, type ZooModel } from './zoo.js';
import type { CommandIo } from '../command-io.js';
import { Progress } from '../progress.js';

/** Where the command writes (see CommandIo). */
export type GhnIo = CommandIo;

export { trainFingerprint } from './options.js';

// ---------------------------------------------------------------------------------------
// train

const GHN_NAMES: Record<GhnTrainOptions['ghnType'], string> = { ghn2: 'GHN-2', ghn3: 'GHN-3', logah: 'LoGAH' };

/**
 * The GHN `ghn train` starts from, with the MNIST-sized configs of each original: GHN-2 as ppuda's
 * train_ghn.py (max_shape 2·hid, 2·hid, 11, 11); GHN-3 as ghn3's train_ghn_ddp.py below 1000 classes
 * (max_shape hid, hid, 11, 11; 3 Graphormer layers); LoGAH with its decoder's defaults (channels up to
 * 2048 predicted whole, rank hid/2) at GHN-3's 11×11 kernels.
 */
export function newGhn(o: Pick<GhnTrainOptions, 'ghnType' | 'hid' | 'seed'>): GHN2 {
  const h = o.hid;
  if (o.ghnType === 'ghn3') return new GHN3({ hid: h, maxShape: [h, h, 11, 11], numClasses: 10, seed: o.seed });
  if (o.ghnType === 'logah') return new LoGAH({ hid: h, maxShape: [2048, 2048, 11, 11], numClasses: 10, seed: o.seed });
  return new GHN2({ hid: h, maxShape: [2 * h, 2 * h, 11, 11], numClasses: 10, seed: o.seed });
}

/** `hypernets ghn train`: meta-trains a GHN (GHN-2, GHN-3 or LoGAH) on MNIST, checkpoints in `out`, writes ghn.safetensors and the report. */
export async function runGhnTrain(
  o: GhnTrainOptions,
  out: string,
  options: { resume: boolean; io: GhnIo },
): Promise<TrainSummary> {
  const { io } = options;
  const source: ArchSource = trainSource({ source: o.source, families: o.families, numClasses: 10 }); // before any work: a missing sampler is a usage error
  const info = await initBackend(o.backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  try {
    const mnist = await loadMnist();
    const train = ImageSplit.first(mnist.train, o.trainSamples);
    const ghn = newGhn(o);
    io.err(
      `${GHN_NAMES[o.ghnType]} (hid ${o.hid}): ${ghn.numParams.toLocaleString('en-US')} parameters; ${o.steps} ` +
        `steps × ${o.archsPerStep} architectures (${o.source === 'small' ? o.families.join('/') : 'sampler'}), ` +
        `batch ${o.batchSize} of ${train.size} MNIST images`,
    );
    const progress = new Progress(
      io,
      'step {value}/{total} |{bar}| loss {loss} acc {acc} {speed} archs/s ETA {eta_formatted}',
    );
    let started = false;
    const on = (e: GhnTrainEvent) => {
      if (e.type === 'resume') io.err(`resuming from ${e.path} (step ${e.step})`);
      if (e.type === 'skip')
        io.err(
          `  step ${e.step}: loss ${e.loss} / gradient norm ${e.gradNorm} not finite, skipped (${e.skipped} so far)`,
        );
      if (e.type !== 'step') return;
      if (!started) {
        progress.start(e.steps, e.step, { loss: '-', acc: '-', speed: '-' });
        started = true;
      }
      progress.update(
        e.step,
        { loss: e.loss.toFixed(4), acc: (100 * e.accuracy).toFixed(1), speed: e.archsPerSecond.toFixed(1) },
        () =>
          `  step ${e.step}/${e.steps} loss ${e.loss.toFixed(4)} accuracy ${(100 * e.accuracy).toFixed(1)}% ${e.archsPerSecond.toFixed(1)} archs/s`,
        e.step === e.steps,
      );
    };
    const trainer = new GhnTrainer({
      ghn,
      source,
      train,
      steps: o.steps,
      archsPerStep: o.archsPerStep,
      batchSize: o.batchSize,
      lr: o.lr,
      weightDecay: o.weightDecay,
      gradClip: o.gradClip,
      seed: o.seed,
      logEvery: 1,
      checkpointDir: out,
      checkpointEvery: o.checkpointEvery,
      fingerprint: trainFingerprint(o),
      callbacks: { onEvent: on },
    });
    let result;
    try {
      result = await trainer.run({ resume: options.resume });
    } finally {
      progress.stop();
    }
    const ghnFile = join(out, 'ghn.safetensors');
    await saveGhn(ghn, ghnFile, { producer: '@hypernets/cli ghn train', steps: String(result.step), dataset: 'mnist' });
    trainer.dispose();
    ghn.dispose();
    const last = result.curve[result.curve.length - 1];
    const summary: TrainSummary = {
      command: 'ghn train',
      steps: result.step,
      final_loss: last?.loss ?? null,
      final_accuracy: last?.accuracy ?? null,
      skipped: result.skipped,
      archs_seen: result.archsSeen,
      seconds: result.seconds,
      ms_per_step: result.step > 0 ? (1000 * result.seconds) / result.step : null,
      backend: info.backend,
      device: info.device,
      ghn: ghnFile,
      params: countParams(ghn.params),
      config: o,
      curve: result.curve,
    };
    const files = await writeTrainReport(out, summary);
    io.out(
      `trained ${result.step} steps in ${result.seconds.toFixed(1)} s: loss ${summary.final_loss?.toFixed(4) ?? '-'}, ` +
        `training accuracy ${summary.final_accuracy === null ? '-' : (100 * summary.final_accuracy).toFixed(1)}%, ` +
        `${result.skipped} skipped, ${result.archsSeen} architectures seen`,
    );
    io.out(`wrote ${[ghnFile, ...files].join(', ')}`);
    return summary;
  } finally {
    await shutdownBackend();
  }
}

// ---------------------------------------------------------------------------------------
// predict

export interface PredictSummary {
  model: string;
  out: string;
  tensors: number;
  params: number;
  /** ParamSpecs the GHN did not predict (seeded init written instead). */
  missing: string[];
  ms: number;
  backend: string;
  /** The device in words (wasm: whether its products ran on OpenBLAS). */
  device: string;
}

/**
 * `hypernets ghn predict`: the parameters `ghn` predicts for a zoo model, written under the
 * model's PyTorch parameter names (torchvision's for the ResNets) in PyTorch layout.
 */
export async function runGhnPredict(o: GhnPredictOptions, io: GhnIo): Promise<PredictSummary> {
  const info = await initBackend(o.backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  try {
    const ghn = await loadGhn(o.ghn);
    const net = zooNet(o.model as ZooModel, { numClasses: o.numClasses ?? ghn.config.numClasses });
    const t0 = performance.now();
    const [p] = ghn.predict(archGraph(net));
    const ms = performance.now() - t0;
    const missing = [...p!.missing];
    const weights = { ...p!.weights, ...missingWeights(archSample(net, o.model), missing, 0) };
    const torch = toTorchWeights(net.params, weights);
    for (const s of net.params)
      if (torch[s.name]!.shape.join() !== torchShape(s).join())
        throw new Error(`internal: ${s.name} has shape [${torch[s.name]!.shape}], PyTorch's is [${torchShape(s)}]`);
    const bytes = await tensorsToSafetensors(torch, {
      producer: '@hypernets/cli ghn predict',
      format: 'pt',
      layout: 'pytorch',
      model: o.model,
      ghn: o.ghn,
      missing: JSON.stringify(missing),
    });
    await writeFileAtomic(o.out, bytes);
    tf.dispose([...Object.values(weights), ...Object.values(torch)]);
    ghn.dispose();
    const s: PredictSummary = {
      model: o.model,
      out: o.out,
      tensors: net.params.length,
      params: countParams(net.params),
      missing,
      ms,
      backend: info.backend,
      device: info.device,
    };
    io.out(
      `${o.model}: predicted ${s.params.toLocaleString('en-US')} parameters (${s.tensors} ` +
        `tensors${missing.length ? `, ${missing.length} not predicted: seeded init` : ''}) in ${ms.toFixed(0)} ms; wrote ${o.out}`,
    );
    return s;
  } finally {
    await shutdownBackend();
  }
}

// ---------------------------------------------------------------------------------------
// eval

/** `hypernets ghn eval`: test accuracy of predicted parameters (and after fine-tuning) on MNIST, for zoo models or a split's architectures. */
export async function runGhnEval(o: GhnEvalOptions, out: string, io: GhnIo): Promise<EvalSummary> {
  const split = o.split ? splitSource(o.split, 10) : null; // before any work
  const info = await initBackend(o.backend);
  io.err(`backend: ${info.backend} (${info.device})`);
  try {
    const ghn = await loadGhn(o.ghn);
    const mnist = await loadMnist();
    const test = ImageSplit.all(mnist.test);
    const train = ImageSplit.all(mnist.train);
    const numClasses = ghn.config.numClasses;
    let archs: ArchSample[];
    if (split) {
      const rng = new Rng(o.seed);
      archs = Array.from({ length: o.archs }, () => split.sample(rng));
    } else archs = o.models.map((m) => archSample(zooNet(m as ZooModel, { numClasses, inputShape: [28, 28, 1] }), m));
    io.err(
      `${archs.length} architectures (${o.split ? `split ${o.split}` : 'zoo'}), ${Math.min(o.testSamples, test.size)} ` +
        `MNIST test images${o.fineTuneSteps ? `, ${o.fineTuneSteps} fine-tuning steps (${o.optimizer})` : ''}`,
    );
    const progress = new Progress(io, 'arch {value}/{total} |{bar}| {name} acc {acc} ETA {eta_formatted}');
    progress.start(archs.length, 0, { name: '', acc: '-' });
    let r: ArchsEvaluation;
    const t0 = performance.now();
    try {
      r = await evaluateArchs(
        ghn,
        archs,
        { test, train },
        {
          fineTuneSteps: o.fineTuneSteps,
          optimizer: o.optimizer,
          lr: o.lr,
          batchSize: o.batchSize,
          testSamples: o.testSamples,
          seed: o.seed,
          onArch: (a, i, n) =>
            progress.update(
              i + 1,
              { name: String(a.id), acc: (100 * a.accuracy).toFixed(2) },
              () => `  ${i + 1}/${n} ${a.id}: ${(100 * a.accuracy).toFixed(2)}%`,
              true,
            ),
        },
      );
    } finally {
      progress.stop();
    }
    ghn.dispose();
    const summary: EvalSummary = {
      command: 'ghn eval',
      ghn: o.ghn,
      split: o.split ?? null,
      mean_accuracy: r.meanAccuracy,
      mean_random_init: r.meanRandomInit,
      mean_fine_tuned: r.meanFineTuned ?? null,
      seconds: (performance.now() - t0) / 1000,
      backend: info.backend,
      device: info.device,
      archs: r.archs,
      config: o,
    };
    const files = await writeEvalReport(out, summary);
    io.out(evalTable(r));
    io.out(`wrote ${files.join(', ')}`);
    return summary;
  } finally {
    await shutdownBackend();
  }
}

const pct = (v: number) => (100 * v).toFixed(2);

export function evalTable(r: ArchsEvaluation): string {
  const ft = r.archs.some((a) => a.fineTuned);
  const head = [
    'architecture',
    'params',
    'predicted %',
    'random init %',
    ...(ft ? ['fine-tuned from predicted %', 'from random %'] : []),
  ];
  const rows = r.archs.map((a) => [
    String(a.id),
    a.numParams.toLocaleString('en-US'),
    pct(a.accuracy),
    pct(a.randomInit),
    ...(a.fineTuned ? [pct(a.fineTuned.predicted), pct(a.fineTuned.random)] : ft ? ['', ''] : []),
  ]);
  rows.push([
    'mean',
    '',
    pct(r.meanAccuracy),
    pct(r.meanRandomInit),
    ...(r.meanFineTuned ? [pct(r.meanFineTuned.predicted), pct(r.meanFineTuned.random)] : []),
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((x) => (x[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((s, c) => (c === 0 ? s.padEnd(w[c]!) : s.padStart(w[c]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

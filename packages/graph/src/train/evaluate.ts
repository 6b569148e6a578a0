import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  Adam,
  ConfigError,
  Rng,
  countCorrect,
  countParams,
  initWeights,
  softmaxCrossEntropy,
  type TargetNet,
  type Weights,
} from '@hypernets/core';
import { disposeBatch, type DataSplit } from '@hypernets/data';
import type { GHN2 } from '../ghn2.js';
import { archSeed, dataSeed, missingWeights, netInput, type ArchSample } from './arch.js';
import { posInt } from './config.js';

/** Batch-norm nets run with batch statistics (ppuda evaluates predicted parameters with bn_train=True); nets without BN in eval mode. */
function usesBatchNorm(net: TargetNet): boolean {
  return (net.stateSpecs?.length ?? 0) > 0;
}

export interface EvaluateArchsOptions {
  /** Test images per forward pass (BN nets normalise with the statistics of each such batch). Default 100. */
  batchSize?: number;
  /** Use only the first n test samples. Default: all. */
  testSamples?: number;
  /** Also fine-tune each net for this many steps, from the predicted parameters and from its own random init. Default 0. */
  fineTuneSteps?: number;
  /** Fine-tuning optimiser. Default 'adam'. */
  optimizer?: 'adam' | 'sgd';
  /** Fine-tuning learning rate. Default 1e-3 (Adam), 1e-2 (SGD). */
  lr?: number;
  /** Fine-tuning batch size. Default 64. */
  fineTuneBatchSize?: number;
  /** Seeds the random inits, unpredicted parameters and the fine-tuning batch order. Default 0. */
  seed?: number;
  /** After each architecture. */
  onArch?: (e: ArchEvaluation, index: number, total: number) => void;
}

export interface ArchEvaluation {
  id: string | number;
  name: string;
  numParams: number;
  /** ParamSpecs the GHN did not predict (seeded init). */
  missing: string[];
  /** Test accuracy of the predicted parameters, no training. */
  accuracy: number;
  /** Test accuracy of the net's own random init, no training (the chance baseline). */
  randomInit: number;
  /** With fineTuneSteps: test accuracy after that many steps from each starting point (same batches for both). */
  fineTuned?: { steps: number; predicted: number; random: number };
}

export interface ArchsEvaluation {
  archs: ArchEvaluation[];
  meanAccuracy: number;
  meanRandomInit: number;
  meanFineTuned?: { steps: number; predicted: number; random: number };
}

async function testAccuracy(
  net: TargetNet,
  weights: Weights,
  test: DataSplit,
  batchSize: number,
  limit: number,
): Promise<number> {
  const training = usesBatchNorm(net);
  let correct = tf.scalar(0);
  let n = 0;
  for (const b of test.batches(batchSize)) {
    if (n >= limit) {
      disposeBatch(b);
      break;
    }
    const take = Math.min(b.size, limit - n);
    const next = tf.tidy(() => {
      const x = take < b.size ? tf.slice(b.x, [0, 0], [take, -1]) : b.x;
      const y = take < b.size ? tf.slice(b.y, [0], [take]) : b.y;
      return tf.add(correct, countCorrect(net.forward(netInput(net, x), weights, { training }), y));
    });
    correct.dispose();
    correct = next as tf.Scalar;
    n += take;
    disposeBatch(b);
  }
  const c = (await correct.data())[0]!;
  correct.dispose();
  return c / n;
}

/** Trains copies of `start` for `steps` steps (training mode) and returns the test accuracy; `start` is left as it was. */
async function fineTune(
  net: TargetNet,
  start: Weights,
  train: DataSplit,
  test: DataSplit,
  o: Required<Omit<EvaluateArchsOptions, 'onArch' | 'testSamples'>> & { testSamples: number },
): Promise<number> {
  const vars = net.params.map((p) => tf.variable(start[p.name]!, true)); // shares start's data; assign() leaves start as it was
  const weights: Weights = Object.fromEntries(net.params.map((p, i) => [p.name, vars[i]!]));
  const adam = o.optimizer === 'adam' ? new Adam(vars) : null;
  const sampler = train.sampler(o.fineTuneBatchSize, dataSeed(o.seed));
  const rng = new Rng(archSeed(o.seed, 'dropout'));
  try {
    for (let s = 0; s < o.fineTuneSteps; s++) {
      const b = sampler.next();
      const stepRng = rng.fork();
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => softmaxCrossEntropy(net.forward(netInput(net, b.x), weights, { training: true, rng: stepRng }), b.y),
          vars,
        );
        const g = vars.map((v) => grads[v.name] ?? null);
        if (adam) adam.step(g, o.lr);
        else vars.forEach((v, i) => g[i] && v.assign(tf.sub(v, tf.mul(g[i]!, o.lr))));
      });
      disposeBatch(b);
    }
    return await testAccuracy(net, weights, test, o.batchSize, o.testSamples);
  } finally {
    adam?.dispose();
    tf.dispose(vars);
  }
}

/**
 * Test accuracy of the parameters `ghn` predicts for each architecture, with no training
 * (batch-norm nets with batch statistics of each test batch, as ppuda's eval_ghn.py), next to
 * the net's own random init. With `fineTuneSteps`, also the accuracy after that many steps of
 * Adam (or SGD) on the target weights from the predicted parameters and from the random init,
 * on the same batches in the same order. `data.train` is needed for fine-tuning.
 */
export async function evaluateArchs(
  ghn: GHN2,
  archs: readonly ArchSample[],
  data: { test: DataSplit; train?: DataSplit },
  options: EvaluateArchsOptions = {},
): Promise<ArchsEvaluation> {
  const opt = z
    .object({
      batchSize: posInt.default(100),
      testSamples: posInt.optional(),
      fineTuneSteps: z.number().int().nonnegative().default(0),
      optimizer: z.enum(['adam', 'sgd']).default('adam'),
      lr: z.number().positive().finite().optional(),
      fineTuneBatchSize: posInt.default(64),
      seed: z.number().int().nonnegative().default(0),
      onArch: z.function().optional(),
    })
    .strict()
    .safeParse(options);
  if (!opt.success) {
    const issue = opt.error.issues[0]!;
    throw new ConfigError(issue.path.join('.') || 'options', issue.message);
  }
  const o = {
    ...opt.data,
    lr: opt.data.lr ?? (opt.data.optimizer === 'adam' ? 1e-3 : 1e-2),
    testSamples: Math.min(opt.data.testSamples ?? data.test.size, data.test.size),
  };
  if (o.fineTuneSteps > 0 && !data.train) throw new ConfigError('data.train', 'fine-tuning needs a training split');
  const results: ArchEvaluation[] = [];
  for (const [i, arch] of archs.entries()) {
    const [pred] = ghn.predict([arch.graph]);
    const missing = [...pred!.missing];
    const predicted: Weights = { ...pred!.weights, ...missingWeights(arch, missing, o.seed) };
    const random = initWeights(arch.net.params, new Rng(archSeed(o.seed ^ 0x2545f491, arch.id)));
    try {
      const r: ArchEvaluation = {
        id: arch.id,
        name: arch.net.name,
        numParams: countParams(arch.net.params),
        missing,
        accuracy: await testAccuracy(arch.net, predicted, data.test, o.batchSize, o.testSamples),
        randomInit: await testAccuracy(arch.net, random, data.test, o.batchSize, o.testSamples),
      };
      if (o.fineTuneSteps > 0)
        r.fineTuned = {
          steps: o.fineTuneSteps,
          predicted: await fineTune(arch.net, predicted, data.train!, data.test, o),
          random: await fineTune(arch.net, random, data.train!, data.test, o),
        };
      results.push(r);
      options.onArch?.(r, i, archs.length);
    } finally {
      tf.dispose([...Object.values(predicted), ...Object.values(random)]);
    }
  }
  const mean = (f: (r: ArchEvaluation) => number) =>
    results.length ? results.reduce((s, r) => s + f(r), 0) / results.length : NaN;
  return {
    archs: results,
    meanAccuracy: mean((r) => r.accuracy),
    meanRandomInit: mean((r) => r.randomInit),
    ...(o.fineTuneSteps > 0
      ? {
          meanFineTuned: {
            steps: o.fineTuneSteps,
            predicted: mean((r) => r.fineTuned!.predicted),
            random: mean((r) => r.fineTuned!.random),
          },
        }
      : {}),
  };
}

// The continual-learning demo's computation, with no DOM: Split-MNIST CL1 with a task-conditioned
// hypernetwork (HNET) and with plain fine-tuning, through @hypernets/continual's public API (as
// `hypernets continual` builds them: apps/cli/src/continual/run.ts). The page runs it on the MNIST
// subset it fetches; the end-to-end test runs the same code in Node on the same files and seed.
import { MLP } from '@hypernets/core';
import { SplitMnist, type Mnist } from '@hypernets/data';
import { ChunkedHyperMLP } from '@hypernets/nets';
import {
  ContinualTrainer,
  FinetuneMethod,
  HnetMethod,
  headLayout,
  type ContinualEvent,
  type ContinualMethod,
  type ContinualResult,
} from '@hypernets/continual';

export type ClMethod = 'hnet' | 'finetune';

export interface ClOptions {
  /** Split-MNIST tasks (digit pairs 0/1, 2/3, …). */
  numTasks: number;
  /** Adam steps per task. */
  iterations: number;
  batchSize: number;
  lr: number;
  seed: number;
  /** Target MLP 784-…-2 (CL1: one 2-way head per task, the hypernetwork generates each task's whole net). */
  targetHidden: readonly number[];
  hnet: {
    hidden: readonly number[];
    chunkSize: number;
    taskEmbedding: number;
    chunkEmbedding: number;
    /** Output-regulariser strength. */
    beta: number;
  };
}

/**
 * The page's default: all 5 tasks, a target MLP 784-100-100 (89,610 weights, 10 chunks of 9,000) and
 * a hypernetwork smaller than the paper's (embeddings 32, hidden 10-10; the paper: 784-400-400,
 * embeddings 96, chunks of 42,000), 150 steps per task (the paper: 2,000).
 */
export const FULL: ClOptions = {
  numTasks: 5,
  iterations: 300,
  batchSize: 128,
  lr: 1e-3,
  seed: 0,
  targetHidden: [100, 100],
  hnet: { hidden: [10, 10], chunkSize: 9000, taskEmbedding: 32, chunkEmbedding: 32, beta: 0.01 },
};

/**
 * `?quick=1` and the tests: 2 tasks of 15 steps of 32 images, with a larger step (3e-3) so HNET learns
 * in so few steps (measured in Node on wasm: HNET 95.9%, fine-tuning 97.8%; at 1e-3 HNET gets 74%).
 * Sized for WebGPU on SwiftShader, where the two runs take ~45 s together.
 */
export const QUICK: ClOptions = { ...FULL, numTasks: 2, iterations: 15, batchSize: 32, lr: 3e-3 };

export interface ClRun {
  method: ClMethod;
  result: ContinualResult;
  /** Trainable parameters of the method (the hypernetwork's, or the target's for fine-tuning). */
  numParams: number;
}

/** Trains one method on Split-MNIST CL1 over `mnist` (in the page: the fetched subset). */
export async function runContinual(
  mnist: Mnist,
  method: ClMethod,
  options: ClOptions,
  onEvent?: (e: ContinualEvent) => void | Promise<void>,
): Promise<ClRun> {
  const stream = new SplitMnist(mnist, { numTasks: options.numTasks, valSize: 0 });
  const layout = headLayout(stream, 'cl1');
  const target = new MLP({
    inputSize: stream.inputSize,
    hiddenSizes: options.targetHidden,
    outputSize: layout.outputs,
    activation: 'relu',
  });
  let m: ContinualMethod;
  if (method === 'hnet') {
    const h = options.hnet;
    const hnet = new ChunkedHyperMLP({
      target,
      numConditions: options.numTasks,
      embeddingSize: h.taskEmbedding,
      chunkEmbeddingSize: h.chunkEmbedding,
      hiddenSizes: h.hidden,
      activation: 'relu',
      chunkSize: h.chunkSize,
      init: 'hyperfan-in',
      flatOrder: 'torch',
      seed: options.seed,
    });
    m = new HnetMethod({ hnet, target, layout, beta: h.beta, lr: options.lr, lookahead: true, seed: options.seed });
  } else m = new FinetuneMethod({ target, layout, lr: options.lr, seed: options.seed });
  try {
    const trainer = new ContinualTrainer({
      stream,
      method: m,
      iterations: options.iterations,
      batchSize: options.batchSize,
      seed: options.seed,
      evalBatchSize: 500,
      logEvery: Math.max(1, Math.min(10, Math.floor(options.iterations / 5))),
      ...(onEvent ? { callbacks: { onEvent } } : {}),
    });
    const result = await trainer.run();
    return { method, result, numParams: m.numParams };
  } finally {
    m.dispose();
  }
}

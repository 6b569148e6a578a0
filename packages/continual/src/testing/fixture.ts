// Test-only (not exported): a tiny, fast continual run on real Split-MNIST shared by the
// tests and the kill-and-resume child process.
import { MLP, initBackend } from '@hypernets/core';
import { SplitMnist } from '@hypernets/data';
import { ChunkedHyperMLP } from '@hypernets/nets';
import { HnetMethod } from '../methods/index.js';
import { headLayout, type Scenario } from '../scenario.js';
import { ContinualTrainer, type ContinualEvent } from '../trainer.js';

export async function tinyRun(
  options: {
    dir?: string;
    checkpointEvery?: number;
    scenario?: Scenario;
    iterations?: number;
    onEvent?: (e: ContinualEvent) => void;
  } = {},
) {
  await initBackend('cpu');
  const stream = await SplitMnist.load({ numTasks: 3 });
  const layout = headLayout(stream, options.scenario ?? 'cl1');
  const target = new MLP({ inputSize: 784, hiddenSizes: [16], outputSize: layout.outputs });
  const hnet = new ChunkedHyperMLP({
    target,
    numConditions: 3,
    embeddingSize: 8,
    chunkEmbeddingSize: 8,
    hiddenSizes: [16],
    chunkSize: 2000,
    seed: 3,
  });
  const method = new HnetMethod({ hnet, target, layout, beta: 0.05, lr: 3e-3, seed: 4, regTasksPerStep: 1 });
  const fingerprint = { test: 'tiny', scenario: layout.scenario };
  const trainer = new ContinualTrainer({
    stream,
    method,
    iterations: options.iterations ?? 24,
    batchSize: 32,
    seed: 5,
    logEvery: 4,
    evalBatchSize: 500,
    checkpointDir: options.dir,
    checkpointEvery: options.checkpointEvery,
    fingerprint,
    callbacks: { onEvent: options.onEvent },
  });
  return { stream, method, trainer, hnet };
}

import * as tf from '@tensorflow/tfjs-core';
import { MLP, Rng, softmaxCrossEntropy } from '@hypernets/core';
import { ChunkedHyperMLP } from '@hypernets/nets';
import { adamStep, perBackendSteps } from './timing.js';
import { reportAgainstTorch } from './torch.js';

/**
 * One training step of a ChunkedHyperMLP (task embedding 32, chunk embedding 32, one hidden
 * layer of 100, chunk size 4000) generating an MLP 784-100-100-10 (89,610 weights): generate,
 * target forward on 128 random inputs, cross-entropy, backward, Adam — on each tfjs backend,
 * and the same computation in PyTorch on the CPU (python/hnet_step.py), side by side.
 */
export async function hnetStep(o: { backends: string[]; steps: number; warmup: number; torchThreads: number }) {
  const { ms, cpuMs, warmupSteps } = await perBackendSteps(o, () => {
    const target = new MLP({ inputSize: 784, hiddenSizes: [100, 100], outputSize: 10 });
    const hnet = new ChunkedHyperMLP({
      target,
      numConditions: 1,
      embeddingSize: 32,
      chunkEmbeddingSize: 32,
      hiddenSizes: [100],
      chunkSize: 4000,
      seed: 0,
    });
    const x = new Rng(0).normal([128, 784]);
    const y = tf.tensor1d(
      Array.from({ length: 128 }, (_, i) => i % 10),
      'int32',
    );
    const train = adamStep(
      hnet.trainableVariables(),
      () => softmaxCrossEntropy(target.forward(x, hnet.generate({ id: 0 })), y) as tf.Scalar,
    );
    return { step: train.step, dispose: () => (train.dispose(), tf.dispose([x, y]), hnet.dispose()) };
  });
  const label = `median of ${o.steps}`;
  reportAgainstTorch(
    'hnet-step',
    ms,
    'hnet_step.py',
    [o.steps, warmupSteps, o.torchThreads],
    o.torchThreads,
    label,
    {},
    cpuMs,
  );
}

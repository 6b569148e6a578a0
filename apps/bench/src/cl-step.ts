import * as tf from '@tensorflow/tfjs-core';
import { MLP, Rng } from '@hypernets/core';
import { ChunkedHyperMLP } from '@hypernets/nets';
import { HnetMethod, headLayout } from '@hypernets/continual';
import { perBackendSteps } from './timing.js';
import { reportAgainstTorch } from './torch.js';

/**
 * One training step of the Permuted-MNIST-10 CL1 hypernetwork (the README's reproduction config:
 * target MLP 1024-1000-1000-100, chunked hypernetwork 25-25 ELU, chunk 78,000, task embedding 24,
 * chunk embedding 8, β 0.1, lookahead) with `past` tasks already learned: @hypernets/continual's
 * HnetMethod.trainStep on a batch of 128 random inputs, on each tfjs backend, next to the same step
 * in PyTorch on the CPU (python/cl_step.py). The regulariser's cost grows with `past`.
 */
export async function clStep({
  backends,
  steps,
  warmup,
  torchThreads,
  past,
}: {
  backends: string[];
  steps: number;
  warmup: number;
  torchThreads: number;
  past: number;
}) {
  const { ms, cpuMs, warmupSteps } = await perBackendSteps(
    { backends, steps, warmup },
    () => {
      const layout = headLayout({ numTasks: 10, outputsPerTask: 10 }, 'cl1');
      const target = new MLP({
        inputSize: 1024,
        hiddenSizes: [1000, 1000],
        outputSize: layout.outputs,
        activation: 'relu',
      });
      const hnet = new ChunkedHyperMLP({
        target,
        numConditions: 10,
        embeddingSize: 24,
        chunkEmbeddingSize: 8,
        hiddenSizes: [25, 25],
        activation: 'elu',
        chunkSize: 78000,
        seed: 0,
      });
      const method = new HnetMethod({ hnet, target, layout, beta: 0.1, lr: 1e-4, lookahead: true, seed: 0 });
      method.beginTask(past);
      const rng = new Rng(1);
      const x = tf.tidy(() => tf.clipByValue(tf.add(tf.mul(rng.normal([128, 1024]), 0.3), 0.2), 0, 1));
      const y = tf.tensor1d(
        Array.from({ length: 128 }, (_, i) => i % 10),
        'int32',
      );
      const batch = { x, y, yAll: y } as unknown as Parameters<HnetMethod['trainStep']>[0];
      return {
        step: async () => {
          const r = method.trainStep(batch, past);
          await r.loss.data();
          tf.dispose([r.loss, ...(r.reg ? [r.reg] : [])]);
        },
        dispose: () => (tf.dispose([x, y]), method.dispose(), hnet.dispose()),
      };
    },
    `, ${past} past tasks`,
  );
  reportAgainstTorch(
    'cl-step',
    ms,
    'cl_step.py',
    [steps, warmupSteps, torchThreads, past],
    torchThreads,
    `median of ${steps}, ${past} past tasks`,
    { past },
    cpuMs,
  );
}

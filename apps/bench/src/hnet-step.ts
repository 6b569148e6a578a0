import * as tf from '@tensorflow/tfjs-core';
import { medianMs } from './timing.js';
import { Adam, MLP, Rng, initBackend, shutdownBackend, softmaxCrossEntropy } from '@hypernets/core';
import { ChunkedHyperMLP } from '@hypernets/nets';
import { reportAgainstTorch } from './torch.js';

/**
 * One training step of a ChunkedHyperMLP (task embedding 32, chunk embedding 32, one hidden
 * layer of 100, chunk size 4000) generating an MLP 784-100-100-10 (89,610 weights): generate,
 * target forward on 128 random inputs, cross-entropy, backward, Adam — on each tfjs backend,
 * and the same computation in PyTorch on the CPU (python/hnet_step.py), side by side. Adam is
 * core's (torch.optim.Adam's update, what every hypernets trainer uses; with @hypernets/native
 * one in-place pass per variable), not tf.train.adam.
 */
export async function hnetStep({
  backends,
  steps,
  warmup,
  torchThreads,
}: {
  backends: string[];
  steps: number;
  warmup: number;
  torchThreads: number;
}) {
  const ms: Record<string, number | string> = {};
  const cpuMs: Record<string, number> = {};
  for (const b of backends) {
    try {
      const info = await initBackend(b);
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
      const rng = new Rng(0);
      const x = rng.normal([128, 784]);
      const y = tf.tensor1d(
        Array.from({ length: 128 }, (_, i) => i % 10),
        'int32',
      );
      const vars = hnet.trainableVariables();
      const opt = new Adam(vars, { lr: 1e-3 });
      const loss = () => softmaxCrossEntropy(target.forward(x, hnet.generate({ id: 0 })), y) as tf.Scalar;
      const t = await medianMs(
        async () => {
          const { value, grads } = tf.variableGrads(loss, vars);
          opt.step(vars.map((v) => grads[v.name] ?? null));
          tf.dispose(Object.values(grads));
          await value.data();
          value.dispose();
        },
        { steps, warmup },
      );
      [ms[b], cpuMs[b]] = [t.ms, t.cpuMs];
      console.log(
        `${b.padEnd(7)} ${String(t.ms).padStart(9)} ms/step (median of ${steps}; CPU ${t.cpuMs} ms)  device: ${info.device}`,
      );
      tf.dispose([x, y]);
      hnet.dispose();
      opt.dispose();
      await shutdownBackend();
    } catch (e) {
      ms[b] = `unavailable: ${(e as Error).message}`;
      console.log(`${b.padEnd(7)} unavailable: ${(e as Error).message}`);
    }
  }
  reportAgainstTorch(
    'hnet-step',
    ms,
    'hnet_step.py',
    [steps, warmup, torchThreads],
    torchThreads,
    `median of ${steps}`,
    {},
    cpuMs,
  );
}

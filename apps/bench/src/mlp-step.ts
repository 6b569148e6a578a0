import * as tf from '@tensorflow/tfjs-core';
import { MLP, Rng, createVariables, softmaxCrossEntropy } from '@hypernets/core';
import { adamStep, perBackendSteps } from './timing.js';
import { reportAgainstTorch } from './torch.js';

/**
 * One training step of an MLP 784-100-100-10 trained directly (its own variables), batch 128,
 * softmax cross-entropy, Adam 1e-3, on each tfjs backend, and the same step in PyTorch on the
 * CPU (python/mlp_step.py), side by side.
 */
export async function mlpStep(o: { backends: string[]; steps: number; warmup: number; torchThreads: number }) {
  const { ms, cpuMs, warmupSteps } = await perBackendSteps(o, () => {
    const net = new MLP({ inputSize: 784, hiddenSizes: [100, 100], outputSize: 10 });
    const rng = new Rng(0);
    const vars = createVariables(net.params, rng);
    const x = rng.normal([128, 784]);
    const y = tf.tensor1d(
      Array.from({ length: 128 }, (_, i) => i % 10),
      'int32',
    );
    const train = adamStep(Object.values(vars), () => softmaxCrossEntropy(net.forward(x, vars), y) as tf.Scalar);
    return { step: train.step, dispose: () => (train.dispose(), tf.dispose([x, y, ...Object.values(vars)])) };
  });
  const extra = { model: '784-100-100-10', batch: 128 };
  const label = `median of ${o.steps}`;
  reportAgainstTorch(
    'mlp-step',
    ms,
    'mlp_step.py',
    [o.steps, warmupSteps, o.torchThreads],
    o.torchThreads,
    label,
    extra,
    cpuMs,
  );
}

import { ImageSplit, loadMnist } from '@hypernets/data';
import { ArchSampler, GHN2, GhnTrainer } from '@hypernets/graph';
import { perBackendSteps } from './timing.js';

/**
 * One GHN-2 meta-training step (ppuda's train_ghn.py step: m architectures drawn from the
 * DeepNets-1M-style sampler's 'train' split for 28×28×1 inputs, all their parameters predicted in
 * one batched pass, each net run on the same MNIST batch, mean cross-entropy, backward through the
 * GHN, Adam, gradient clipping): GhnTrainer.run one step at a time, on each tfjs backend. There is
 * no PyTorch side here (ppuda's trainer needs its own data pipeline); compare backends, and
 * `HYPERNETS_NATIVE=0` against the default.
 */
export async function ghnStep({
  backends,
  steps,
  warmup,
  archsPerStep,
  batchSize,
  hid,
}: {
  backends: string[];
  steps: number;
  warmup: number;
  archsPerStep: number;
  batchSize: number;
  hid: number;
}) {
  const mnist = await loadMnist();
  const { ms, cpuMs } = await perBackendSteps(
    { backends, steps, warmup, minWarmupMs: 0 }, // the trainer is built for warmup + steps
    () => {
      const train = ImageSplit.all(mnist.train);
      const ghn = new GHN2({ hid, numClasses: 10, seed: 0 });
      const archs = new ArchSampler({ inputShape: [28, 28, 1], numClasses: 10 });
      const trainer = new GhnTrainer({
        ghn,
        source: { sample: (rng) => archs.sample(rng, 'train') },
        train,
        steps: warmup + steps,
        archsPerStep,
        batchSize,
        logEvery: warmup + steps,
      });
      let done = 0;
      return {
        step: async () => void (await trainer.run({ until: ++done })),
        dispose: () => (trainer.dispose(), ghn.dispose()),
      };
    },
    `, m = ${archsPerStep}, batch ${batchSize}`,
  );
  console.log(JSON.stringify({ workload: 'ghn-step', ms, cpu_ms: cpuMs, archsPerStep, batchSize, hid, steps, warmup }));
}

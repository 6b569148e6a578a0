import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, initBackend } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../testing/temp-dirs.js';
import { HyperActorCritic } from './policy.js';
import { ArchitectureSpace } from './search-space.js';
import { HyperPpoTrainer, paretoFront, type HyperPpoTrainerOptions } from './trainer.js';

const tempDir = tempDirs('hypernets-hyperppo-');

beforeAll(async () => {
  await initBackend('cpu');
});

/** A small space (widths 4/8/16, depth ≤ 3: 39 architectures) and small runs. */
const small = (env: string, extra: Partial<HyperPpoTrainerOptions> = {}): HyperPpoTrainerOptions => ({
  env,
  totalTimesteps: 4 * 8 * 16,
  numEnvs: 8,
  numSteps: 16,
  numMinibatches: 2,
  updateEpochs: 2,
  metaBatchSize: 4,
  widths: [4, 8, 16],
  maxDepth: 3,
  seed: 5,
  ...extra,
});

async function train(options: HyperPpoTrainerOptions, resume = false) {
  const t = new HyperPpoTrainer(options);
  try {
    const r = await t.run({ resume });
    const w = Array.from(await t.policy.variables['ghn.decoder.conv2.weight']!.data()).slice(0, 50);
    return { ...r, w, current: Array.from(t.policy.current) };
  } finally {
    t.dispose();
  }
}

describe('HyperActorCritic', () => {
  const space = new ArchitectureSpace({ observationSize: 3, actionSize: 1, widths: [4, 8, 16], maxDepth: 3 });
  const agent = () =>
    new HyperActorCritic({ observationSize: 3, action: { kind: 'box', size: 1 }, space, metaBatchSize: 4, seed: 1 });

  it('splits minibatches evenly among the architectures, grouped, covering every sample once', () => {
    const a = agent();
    const mbs = a.minibatches(new Rng(0), 6, 8, 3); // 6 steps × 8 envs, 2 envs per architecture
    expect(mbs.length).toBe(3);
    const seen = new Set<number>();
    for (const mb of mbs) {
      expect(mb.length).toBe(16);
      mb.forEach((j, r) => {
        const env = j % 8;
        expect(Math.floor(env / 2)).toBe(Math.floor(r / 4)); // rows 0–3 from architecture slot 0, …
        seen.add(j);
      });
    }
    expect(seen.size).toBe(48);
    expect(() => a.minibatches(new Rng(0), 6, 8, 5)).toThrow(ConfigError);
    a.dispose();
  });

  it("acts with each env's architecture in one pass, equal to each architecture's own policy", async () => {
    const a = agent();
    a.startIteration(new Rng(3), 8);
    const obs = tf.randomNormal([8, 3], 0, 1, 'float32', 4) as tf.Tensor2D;
    const envs = Int32Array.from({ length: 8 }, (_, i) => i);
    const out = a.act(obs, envs);
    const batched = await out.out.data();
    for (let s = 0; s < 4; s++) {
      const [p] = a.ghn.generate([space.architectures[a.current[s]!]!]);
      const y = tf.tidy(() => {
        let h: tf.Tensor = tf.slice(obs, [2 * s, 0], [2, 3]);
        p!.weights.forEach((w, l) => {
          h = tf.add(tf.matMul(h, w), p!.biases[l]!);
          if (l < p!.weights.length - 1) h = tf.relu(h);
        });
        return h;
      });
      const single = await y.data();
      for (let k = 0; k < 2; k++) expect(batched[2 * s + k]).toBeCloseTo(single[k]!, 5);
      tf.dispose([y, ...p!.weights, ...p!.biases]);
    }
    // the gradient of a minibatch's log-prob reaches the GHN, the log-std and the critic
    const actions = tf.zeros([8, 1]);
    const { grads, value } = tf.variableGrads(() => {
      const ev = a.evaluate(obs, actions, envs);
      return tf.sum(tf.add(ev.logProb, ev.value)) as tf.Scalar;
    }, Object.values(a.variables));
    for (const name of ['ghn.shapeEnc.weight', 'ghn.decoder.conv2.weight', 'actor.logStd', 'critic.fc1.weight']) {
      const g = grads[a.variables[name]!.name]!;
      const n = tf.tidy(() => tf.sum(tf.abs(g)));
      expect((await n.data())[0], name).toBeGreaterThan(0);
      n.dispose();
    }
    tf.dispose([obs, actions, value, ...Object.values(grads), out.out, out.value, out.logStd!]);
    a.dispose();
  });
});

describe('HyperPpoTrainer', () => {
  it("takes the reference's defaults and refuses a split that leaves architectures unequal", () => {
    const t = new HyperPpoTrainer({ env: 'Pendulum-v1', totalTimesteps: 8192 });
    expect(t.config).toMatchObject({
      numEnvs: 128,
      numSteps: 64,
      numMinibatches: 4,
      updateEpochs: 2,
      learningRate: 0.00295,
      maxGradNorm: 3.5,
      vfCoef: 1.3,
      entCoef: 0,
      normalize: true,
      bootstrapTruncated: true,
    });
    expect(t.space.size).toBe(2800);
    expect(t.policy.metaBatchSize).toBe(8);
    t.dispose();
    expect(() => new HyperPpoTrainer(small('Pendulum-v1', { numEnvs: 6 }))).toThrow(/multiple of metaBatchSize/);
    expect(() => new HyperPpoTrainer(small('Pendulum-v1', { stdMode: 'wide' as never }))).toThrow(ConfigError);
  });

  for (const stdMode of ['single', 'multi', 'conditioned'] as const)
    it(`Pendulum-v1 (${stdMode} log-std): a resumed run ends with the numbers of one that never stopped, no tensors kept`, async () => {
      const before = tf.memory().numTensors;
      const options = (dir: string) => small('Pendulum-v1', { stdMode, checkpointDir: dir, checkpointEvery: 2 });
      const whole = await train(options(tempDir()));
      expect(tf.memory().numTensors).toBe(before);
      const dir = tempDir();
      const stop = new Error('stopped after the first checkpoint');
      await expect(train({ ...options(dir), callbacks: { onCheckpoint: () => Promise.reject(stop) } })).rejects.toBe(
        stop,
      );
      const rest = await train(options(dir), true);
      expect(rest.w).toEqual(whole.w);
      expect(rest.current).toEqual(whole.current);
      expect(rest.curve).toEqual(whole.curve);
      expect(rest.episodes).toEqual(whole.episodes);
      expect(tf.memory().numTensors).toBe(before);
    });

  it('evaluates architectures in batches exactly as one at a time, and finds the Pareto front', async () => {
    const t = new HyperPpoTrainer(small('CartPole-v1'));
    await t.run();
    const ids = t.space.stratified(12);
    const together = await t.evaluateArchitectures(ids, { episodes: 2, maxSteps: 60 });
    const alone = await t.evaluateArchitectures(ids.slice(3, 5), { episodes: 2, maxSteps: 60, chunk: 1 });
    expect(alone).toEqual(together.slice(3, 5));
    // PpoTrainer's evaluate, for one architecture (the inherited one would act with the training envs' groups)
    const one = await t.evaluate(2, { maxSteps: 60, architecture: ids[4]! });
    expect(one).toEqual({
      returns: together[4]!.returns,
      lengths: together[4]!.lengths,
      meanReturn: together[4]!.meanReturn,
    });
    expect(together.map((e) => e.params)).toEqual(Array.from(ids, (i) => t.space.parameterCounts[i]));
    const front = paretoFront(together);
    for (let i = 1; i < front.length; i++) {
      expect(front[i]!.params).toBeGreaterThan(front[i - 1]!.params);
      expect(front[i]!.meanReturn).toBeGreaterThan(front[i - 1]!.meanReturn);
    }
    for (const e of together)
      expect(front.some((f) => f.params <= e.params && f.meanReturn >= e.meanReturn)).toBe(true);
    t.dispose();
  });
});

// AdapterTrainer and AdapterModel on a tiny encoder of the backbone's shape (cpu backend): the
// sampling distribution, learning, resume equal to an uninterrupted run, no leaked tensors,
// save/load, parameter counts by hand, and bad options.
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, initBackend } from '@hypernets/core';
import { AdapterModel } from './model.js';
import { AdapterTrainer, type AdapterTrainResult } from './trainer.js';
import { TINY_DIMS, tinyBackbone, tinyTask } from './testing/tiny.js';
import type { TokenizedTask } from './tasks.js';
import type { MethodName } from './methods/method.js';
import type { HyperAdapters } from './methods/hyperformer.js';

let backbone: ReturnType<typeof tinyBackbone>;
let dir: string;
const tasks: TokenizedTask[] = [tinyTask('has-e', 'e', 'single', 1), tinyTask('same-first', 'a', 'pair', 2)];
const infos = tasks.map(({ name, kind, labels }) => ({ name, kind, labels }));
const opts = { reductionFactor: 4, embeddingDim: 8, hiddenDim: 8, projectedDim: 8 };

beforeAll(async () => {
  await initBackend('cpu');
  backbone = tinyBackbone();
  dir = await mkdtemp(join(tmpdir(), 'adapters-trainer-'));
});
afterAll(async () => {
  backbone?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function train(method: MethodName, steps: number, extra: Record<string, unknown> = {}, resume = false) {
  const model = AdapterModel.create(backbone, method, infos, opts, 0);
  const trainer = new AdapterTrainer({
    model,
    tasks,
    steps,
    batchSize: 8,
    lr: 3e-3,
    evalEvery: 5,
    logEvery: 1,
    ...extra,
  });
  const result = await trainer.run({ resume });
  return { model, trainer, result };
}

describe('AdapterTrainer', () => {
  it('samples tasks with p ∝ N^(1/T) and counts parameters by hand', () => {
    const model = AdapterModel.create(backbone, 'adapters', infos, opts, 0);
    const big = { ...tasks[1]!, train: { ...tasks[1]!.train, labels: new Int32Array(640) } }; // N = 64 and 640
    const trainer = new AdapterTrainer({ model, tasks: [tasks[0]!, big], steps: 10, temperature: 2 });
    const w = [64 / 704, 640 / 704].map((p) => p ** 0.5);
    expect(trainer.taskProbabilities[0]).toBeCloseTo(w[0]! / (w[0]! + w[1]!), 12);
    const d = TINY_DIMS.width;
    const r = d / 4;
    const perSite = 2 * d + d * r + r + r * d + d; // pre-norm γ, β; down; up
    const p = model.paramCounts();
    expect(p.perTask).toEqual([4 * perSite, 4 * perSite]);
    expect(p.heads).toEqual([(d + 1) * 2, (4 * d + 1) * 2]); // pairs: [u; v; |u−v|; u⊙v]
    expect(p.shared).toBe(0);
    expect(p.methodPerTask).toBe(4 * perSite);
    trainer.dispose();
    model.dispose();
  });

  it('learns: the loss falls and validation accuracy beats chance (HyperFormer++)', async () => {
    const before = tf.memory().numTensors;
    const { model, trainer, result } = await train('hyperformer++', 40);
    const losses = result.curve.map((c) => c.loss);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(losses.slice(-10))).toBeLessThan(mean(losses.slice(0, 10)));
    expect(Object.values(result.val).reduce((a, b) => a + b, 0) / 2).toBeGreaterThan(0.55);
    expect(result.bestStep).toBeGreaterThan(0);
    expect(Object.keys(result.acc)).toEqual(['has-e', 'same-first']);
    trainer.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before); // nothing leaked by training, evaluation or the snapshot
  });

  for (const method of ['adapters', 'pha'] as const)
    it(`a resumed run ends with the numbers of one that never stopped (${method})`, async () => {
      const full = join(dir, `full-${method}`);
      const part = join(dir, `part-${method}`);
      let copied = false;
      const a = await train(method, 12, {
        checkpointDir: full,
        checkpointEvery: 6,
        callbacks: {
          onCheckpoint: async (e: { step: number }) => {
            if (e.step === 6) {
              await cp(full, part, { recursive: true });
              copied = true;
            }
          },
        },
      });
      expect(copied).toBe(true);
      const b = await train(method, 12, { checkpointDir: part, checkpointEvery: 6 }, true);
      const same = (x: AdapterTrainResult, y: AdapterTrainResult) => {
        expect(y.acc).toEqual(x.acc);
        expect(y.val).toEqual(x.val);
        expect(y.bestStep).toBe(x.bestStep);
        expect(y.curve.map((c) => [c.step, c.task, c.loss])).toEqual(x.curve.map((c) => [c.step, c.task, c.loss]));
      };
      same(a.result, b.result);
      const va = a.model.variables();
      const vb = b.model.variables();
      for (const k of Object.keys(va))
        expect(tf.tidy(() => tf.max(tf.abs(tf.sub(va[k]!, vb[k]!))).dataSync()[0])).toBe(0);
      // a checkpoint of another method is refused before anything changes
      const other = AdapterModel.create(backbone, 'hyperformer++', infos, opts, 0);
      const t = new AdapterTrainer({ model: other, tasks, steps: 12, checkpointDir: full });
      await expect(t.run({ resume: true })).rejects.toThrow(/hyperformer\+\+|adapters|pha/);
      for (const x of [a, b]) {
        x.trainer.dispose();
        x.model.dispose();
      }
      t.dispose();
      other.dispose();
    });

  it('rejects bad options with a ConfigError naming them', () => {
    const model = AdapterModel.create(backbone, 'linear', infos, opts, 0);
    const bad = (o: Record<string, unknown>, re: RegExp) => {
      const e = (() => {
        try {
          new AdapterTrainer({ model, tasks, steps: 10, ...o } as never);
        } catch (err) {
          return err;
        }
      })();
      expect(ConfigError.isInstance(e)).toBe(true);
      expect(String(e)).toMatch(re);
    };
    bad({ steps: 0 }, /steps/);
    bad({ warmupSteps: 10 }, /warmupSteps/);
    bad({ labelSmoothing: 1 }, /labelSmoothing/);
    bad({ tasks: [tasks[1], tasks[0]] }, /tasks/);
    bad({ tempreature: 2 }, /tempreature/);
    bad({ trainOnly: ['heads.0.weight', 'no.such'] }, /trainOnly.*no\.such/);
    model.dispose();
  });
});

describe('AdapterModel', () => {
  it('save then load predicts the same probabilities; predict names the label', async () => {
    const { model, trainer } = await train('hyperformer', 6);
    const path = join(dir, 'model');
    await model.save(path);
    const again = await AdapterModel.load(path, backbone);
    const texts = ['eee', 'xyz'];
    const p1 = await model.predict('has-e', texts);
    const p2 = await again.predict('has-e', texts);
    expect(p2).toEqual(p1);
    expect(['no', 'yes']).toContain(p1[0]!.label);
    expect(p1[0]!.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const pairs = await again.predict('same-first', ['abc'], ['axe']);
    expect(pairs).toHaveLength(1);
    await expect(again.predict('same-first', ['abc'])).rejects.toThrow(/pairs/);
    await expect(again.predict('nope', ['abc'])).rejects.toThrow(/unknown task/);
    trainer.dispose();
    model.dispose();
    again.dispose();
  });
});

describe('task families (Hyper-X zero-shot)', () => {
  // has-e in domains 0 and 1 (one family), has-o in domain 1 only: (has-o, domain 0) is unseen
  const famTasks: TokenizedTask[] = [
    { ...tinyTask('has-e@0', 'e', 'single', 1), domain: 0 },
    { ...tinyTask('has-e@1', 'e', 'single', 2), domain: 1 },
    { ...tinyTask('has-o@1', 'o', 'single', 3), domain: 1 },
  ];
  const famInfos = famTasks.map(({ name, kind, labels, domain }, i) => ({
    name,
    kind,
    labels,
    domain,
    family: i < 2 ? 'has-e' : 'has-o',
  }));

  it('one head and one task embedding per family, shared by its tasks; counted once', () => {
    const model = AdapterModel.create(backbone, 'hyperx', famInfos, opts, 0);
    expect(model.families).toEqual(['has-e', 'has-o']);
    expect(model.heads).toHaveLength(2);
    expect(model.method.shared['hyper.task_embeddings']!.shape).toEqual([2, 8]);
    expect(Object.keys(model.sharedVariables())).toContain('heads.0.weight'); // two tasks train it
    expect(Object.keys(model.taskVariables(2))).toEqual(['heads.1.weight', 'heads.1.bias']);
    expect(Object.keys(model.taskVariables(0))).toEqual([]);
    const h = model.method as HyperAdapters;
    const [a, b] = [h.generate(0, 1), h.generate(1)]; // task 0 in domain 1 is task 1
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a[0]!['up.weight']!, b[0]!['up.weight']!))).dataSync()[0])).toBe(0);
    [a, b].forEach((g) => g.forEach((x) => tf.dispose(Object.values(x))));
    const p = model.paramCounts();
    const head = (TINY_DIMS.width + 1) * 2;
    expect(p.heads).toEqual([head, head, head]);
    expect(p.trainablePerTask).toBeCloseTo((p.shared + 2 * head) / 3, 9);
    model.dispose();
    expect(() =>
      AdapterModel.create(backbone, 'linear', [famInfos[0]!, { ...famInfos[1]!, labels: ['a', 'b', 'c'] }], opts),
    ).toThrow(/family has-e/);
  });

  it('trains the shared head with every task of its family; zero-shot on a seen pair equals that task; save/load keeps families', async () => {
    const model = AdapterModel.create(backbone, 'hyperx', famInfos, opts, 0);
    const trainer = new AdapterTrainer({ model, tasks: famTasks, steps: 12, batchSize: 8, lr: 3e-3, evalEvery: 6 });
    const head = tf.clone(model.heads[0]!['heads.0.weight']!);
    await trainer.run();
    expect(
      tf.tidy(() => tf.max(tf.abs(tf.sub(head, model.heads[0]!['heads.0.weight']!))).dataSync()[0]),
    ).toBeGreaterThan(0);
    const split = famTasks[1]!.test;
    expect(await model.zeroShotAccuracy('has-e', 1, split)).toBe(await model.accuracy(1, split));
    const unseen = await model.zeroShotAccuracy('has-o', 0, famTasks[2]!.test); // has-o never ran in domain 0
    expect(unseen).toBeGreaterThanOrEqual(0);
    await expect(model.zeroShotAccuracy('nope', 0, split)).rejects.toThrow(/unknown family/);
    const path = join(dir, 'families');
    await model.save(path);
    const again = await AdapterModel.load(path, backbone);
    expect(again.families).toEqual(model.families);
    expect(await again.zeroShotAccuracy('has-o', 0, famTasks[2]!.test)).toBe(unseen);
    tf.dispose(head);
    trainer.dispose();
    model.dispose();
    again.dispose();
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CheckpointConfigError, CheckpointError, ConfigError } from '../errors/index.js';
import { callbackName, eventEmitter, type TrainerCallbacks } from './callbacks.js';
import { objectOption, parseTrainingOptions, trainingOptionsSchema } from './options.js';
import { RunCheckpoint } from './run-checkpoint.js';
import { samplerStateSchema } from './schemas.js';
import { runSteps } from './step-loop.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Ev = { type: 'task-begin'; task: number } | { type: 'step'; step: number; loss: number };

describe('callbacks', () => {
  it("name each event type's handler as tfjs does (onTaskBegin), call it, then onEvent, awaiting both", async () => {
    expect([callbackName('step'), callbackName('task-begin'), callbackName('a-b-c')]).toEqual([
      'onStep',
      'onTaskBegin',
      'onABC',
    ]);
    const seen: string[] = [];
    const callbacks: TrainerCallbacks<Ev> = {
      onTaskBegin: async (e) => {
        await new Promise((r) => setTimeout(r, 5));
        seen.push(`begin ${e.task}`);
      },
      onEvent: (e) => seen.push(`any ${e.type}`),
    };
    const emit = eventEmitter<Ev>(['task-begin', 'step'], callbacks);
    await emit({ type: 'task-begin', task: 2 });
    await emit({ type: 'step', step: 1, loss: 0.5 });
    expect(seen).toEqual(['begin 2', 'any task-begin', 'any step']);
  });

  it('reject a handler the trainer does not have, naming the ones it has, and a non-function', () => {
    expect(() => eventEmitter<Ev>(['task-begin', 'step'], { onStepEnd: () => {} })).toThrow(
      /callbacks\.onStepEnd.*onTaskBegin, onStep, onEvent/,
    );
    expect(() => eventEmitter<Ev>(['step'], { onStep: 3 })).toThrow(ConfigError);
  });
});

describe('parseTrainingOptions', () => {
  const schema = trainingOptionsSchema
    .extend({ model: objectOption<object>('a model'), steps: z.number().int().positive(), lr: z.number().default(0.1) })
    .strict();

  it('fills defaults and keeps the objects it was given (not copies)', () => {
    const model = { name: 'm' };
    const o = parseTrainingOptions(schema, { model, steps: 3 });
    expect(o.model).toBe(model);
    expect([o.seed, o.lr, o.checkpointDir]).toEqual([0, 0.1, undefined]);
  });

  it('a bad option is a ConfigError naming it', () => {
    const model = {};
    expect(() => parseTrainingOptions(schema, { model, steps: 0 })).toThrow(/'steps'/);
    expect(() => parseTrainingOptions(schema, { model: 3, steps: 1 })).toThrow(/'model'.*must be a model/);
    expect(() => parseTrainingOptions(schema, { model, steps: 1, stpes: 2 })).toThrow(/stpes/);
    expect(() => parseTrainingOptions(schema, { model, steps: 1, checkpointEvery: 2 })).toThrow(
      /'checkpointEvery'.*needs checkpointDir/,
    );
    expect(() => parseTrainingOptions(schema, null)).toThrow(ConfigError);
  });
});

describe('runSteps', () => {
  it('reports every logEvery and the last step; checkpoints every checkpointEvery, the last only when asked', async () => {
    const log: string[] = [];
    const hooks = {
      step: (s: number, l: boolean) => void (l && log.push(`log ${s}`)),
      checkpoint: async (s: number) => void log.push(`save ${s}`),
    };
    const end = await runSteps({ from: 2, to: 9, logEvery: 3, checkpointEvery: 4, checkpointLast: false }, hooks);
    expect(end).toBe(9);
    expect(log).toEqual(['log 3', 'save 4', 'log 6', 'save 8', 'log 9']);
    log.length = 0;
    await runSteps({ from: 0, to: 8, logEvery: 100, checkpointEvery: 4, checkpointLast: true }, hooks);
    expect(log).toEqual(['save 4', 'log 8', 'save 8']);
    log.length = 0;
    expect(await runSteps({ from: 5, to: 5, logEvery: 1, checkpointEvery: 1, checkpointLast: true }, hooks)).toBe(5);
    expect(log).toEqual([]);
  });
});

describe('RunCheckpoint', () => {
  const progress = z.object({
    step: z.number().int(),
    sampler: samplerStateSchema.nullable(),
    curve: z.array(z.number()),
  });
  type P = z.infer<typeof progress>;
  const make = (dir: string | undefined, fingerprint: unknown = { lr: 1 }) =>
    new RunCheckpoint<P>({ dir, kind: 'toy', what: 'toy-training', progress, fingerprint });

  it('saves progress next to the tensors and restores both; nothing saved yet is null', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-ck-'));
    const ck = make(dir + '/');
    expect(ck.path).toBe(`${dir}/checkpoint`);
    expect(await ck.restore(() => {})).toBeNull();
    const w = tf.tensor1d([1, 2, 3]);
    const p: P = { step: 4, sampler: { epochRng: [1, -2, 3, 4], epoch: 1, position: 32 }, curve: [0.5, 0.25] };
    expect(await ck.save({ step: 4, progress: p, tensors: { w }, meta: { model: { width: 3 } } })).toBe(ck.path);
    const json = JSON.parse(readFileSync(`${dir}/checkpoint.json`, 'utf8'));
    expect(json.meta).toMatchObject({ step: 4, config: { lr: 1 }, toy: p, model: { width: 3 } });
    let got: number[] = [];
    const back = await make(dir).restore(async (c, q) => {
      expect(q).toEqual(p);
      got = Array.from(await c.tensors.w!.data());
    });
    expect(back).toEqual(p);
    expect(got).toEqual([1, 2, 3]);
    w.dispose();
  });

  it('refuses a checkpoint of another kind, bad progress, or another configuration, before apply runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-ck-'));
    const w = tf.scalar(1);
    await make(dir).save({ step: 1, progress: { step: 1, sampler: null, curve: [] }, tensors: { w } });
    let applied = 0;
    const apply = () => void applied++;
    const other = new RunCheckpoint<P>({
      dir,
      kind: 'other',
      what: 'other-training',
      progress,
      fingerprint: { lr: 1 },
    });
    await expect(other.restore(apply)).rejects.toThrow(/is not a other-training checkpoint \(no `other` metadata\)/);
    await expect(make(dir, { lr: 2 }).restore(apply)).rejects.toSatisfy((e) => CheckpointConfigError.isInstance(e));
    // hand-edit the progress (and keep the file's integrity fields): a zod issue naming the field
    const f = `${dir}/checkpoint.json`;
    const json = JSON.parse(readFileSync(f, 'utf8'));
    json.meta.toy.sampler = { epochRng: [], epoch: 0, position: 0 };
    writeFileSync(f, JSON.stringify(json));
    await expect(make(dir).restore(apply)).rejects.toThrow(/not a toy-training checkpoint \(toy\.sampler\.epochRng/);
    await expect(make(dir).restore(apply)).rejects.toSatisfy((e) => CheckpointError.isInstance(e));
    expect(applied).toBe(0);
    w.dispose();
  });

  it('without a directory: resume and save are ConfigErrors', async () => {
    const ck = make(undefined);
    expect(ck.path).toBeNull();
    await expect(ck.restore(() => {})).rejects.toThrow(/'resume': needs checkpointDir/);
    await expect(ck.save({ step: 0, progress: { step: 0, sampler: null, curve: [] }, tensors: {} })).rejects.toThrow(
      ConfigError,
    );
  });
});

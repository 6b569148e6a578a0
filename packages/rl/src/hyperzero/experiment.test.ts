import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, initBackend } from '@hypernets/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDirs } from '../testing/temp-dirs.js';
import { ZeroShotExperiment, makeZeroShotModel } from './experiment.js';
import { pendulumFamily } from './family.js';
import type { TeacherRecord } from './teacher-record.js';

const tempDir = tempDirs('hypernets-zeroshot-');

beforeAll(async () => {
  await initBackend('cpu');
});

describe('pendulumFamily', () => {
  it('lists the grid once, each context one grid step from the one before (the warm starts)', () => {
    const f = pendulumFamily();
    expect(f.contexts).toHaveLength(25);
    expect(new Set(f.contexts.map((c) => c.join(','))).size).toBe(25);
    expect(f.contexts[0]).toEqual([0.6, 0.6]);
    for (let i = 1; i < f.contexts.length; i++) {
      const [a, b] = [f.contexts[i - 1]!, f.contexts[i]!];
      const steps = [Math.abs(a[0]! - b[0]!), Math.abs(a[1]! - b[1]!)].sort();
      expect(steps[0]).toBeCloseTo(0, 9);
      expect(steps[1]).toBeCloseTo(0.2, 9);
    }
    const env = f.makeEnv([1.2, 0.8]);
    expect(env.unwrapped).toMatchObject({ l: 1.2, m: 0.8 });
    env.close();
    expect(() => pendulumFamily({ grid: 1 })).toThrow(ConfigError);
    expect(() => pendulumFamily({ lo: 2, hi: 1 })).toThrow(ConfigError);
  });
});

describe('ZeroShotExperiment', () => {
  const small = (workDir: string) =>
    new ZeroShotExperiment({
      family: pendulumFamily({ grid: 3 }),
      workDir,
      teacherSteps: 200,
      warmSteps: 100,
      datasetEpisodes: 2,
      evalEpisodes: 1,
    });

  it('trains every teacher once, keeps them, and loads them back unchanged; models train and run zero-shot', async () => {
    const dir = tempDir();
    const a = small(dir);
    expect(a.split.test).toHaveLength(1); // ⌊0.2 · 9⌋
    expect(a.split.train).toHaveLength(8);
    const loaded: boolean[] = [];
    const first = await small(dir).teachers();
    expect(first.size).toBe(9);
    for (const [k, t] of first) {
      expect(k).toBe(a.key(t.context));
      expect(t.split).toBe(a.isHeldOut(t.context) ? 'test' : 'train');
      expect(t.rollout.returns).toHaveLength(2);
      expect(t.rollout.rewards).toHaveLength(400); // 2 episodes of Pendulum's 200 steps
      expect(t.attempts.length).toBeGreaterThan(0);
    }
    // the first context has no neighbour before it: from scratch; the others start from one
    expect(first.get(a.key(a.family.contexts[0]!))!.attempts[0]!.init).toBe('scratch');
    expect(first.get(a.key(a.family.contexts[1]!))!.attempts[0]!.init).toBe(a.key(a.family.contexts[0]!));
    const b = new ZeroShotExperiment({
      ...a.config,
      family: a.family,
      workDir: dir,
      onTeacher: (e) => void loaded.push(e.loaded),
    });
    const again = await b.teachers();
    expect(loaded).toEqual(Array(9).fill(true));
    for (const [k, t] of first) expect(again.get(k)).toEqual(t);

    const trainer = b.modelTrainer('mlp_policy', again, { epochs: 1, batchSize: 512, learningRate: 1e-3 });
    const r = await trainer.run();
    expect(r.epochs).toBe(1);
    const ev = await b.evaluate(trainer);
    expect(ev.map((e) => e.context)).toEqual(b.split.test);
    expect(ev[0]!.returns).toHaveLength(1);
    expect(Number.isFinite(ev[0]!.meanReturn)).toBe(true);
    trainer.dispose();
    trainer.model.dispose();
  });

  it('rejects a damaged or foreign teacher file with a CheckpointError naming it', async () => {
    const dir = tempDir();
    const a = small(dir);
    await a.teachers();
    const ctx = a.family.contexts[2]!;
    const path = join(dir, 'teachers', `${a.key(ctx)}.json`);
    const good = readFileSync(path, 'utf8');
    const record = JSON.parse(good) as TeacherRecord;
    for (const bad of [
      '{"context": [0.6',
      JSON.stringify({ ...record, rollout: { ...record.rollout, values: [1] } }),
      JSON.stringify({ ...record, context: [1.4, 1.4] }),
      JSON.stringify({ ...record, evalMean: 'high' }),
      '['.repeat(10_000),
    ]) {
      writeFileSync(path, bad);
      const err = await a.loadTeacher(ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CheckpointError);
      expect(String((err as Error).message)).toContain(a.key(ctx));
    }
    writeFileSync(path, good);
    expect(await a.loadTeacher(ctx)).toEqual(record);
    // a teacher made with other settings is not used by this experiment
    const other = new ZeroShotExperiment({ ...a.config, family: a.family, workDir: dir, teacherSteps: 300 });
    await expect(other.teachers()).rejects.toThrow(/teacherSteps 200; this experiment's teacherSteps 300/);
  });

  it('checks its options', () => {
    const family = pendulumFamily({ grid: 2 });
    expect(() => new ZeroShotExperiment({ family, workDir: tempDir() })).toThrow(/holds none out/);
    expect(() => new ZeroShotExperiment({ family: pendulumFamily(), workDir: tempDir(), warmSteps: -1 })).toThrow(
      ConfigError,
    );
    expect(() => makeZeroShotModel('mlp' as never, { contextSize: 2, observationSize: 3, actionSize: 1 }, 0)).toThrow(
      /known: hyperzero, hyperzero_without_q, mlp_rl_td, mlp_policy/,
    );
    const m = makeZeroShotModel('hyperzero_without_q', { contextSize: 2, observationSize: 3, actionSize: 1 }, 0);
    expect(m.config.withQ).toBe(false);
    expect(tf.memory().numTensors).toBeGreaterThan(0);
    m.dispose();
  });
});

import { z } from 'zod';
import type { TeacherRollout } from './teacher.js';

/** A finished teacher as `workDir/teachers/<key>.json` keeps it. */
export interface TeacherRecord {
  context: number[];
  /** The experiment options that shaped the teacher: a saved one is used only by an experiment with the same. */
  settings: { teacherSteps: number; warmSteps: number; gamma: number; evalEpisodes: number };
  split: 'train' | 'test';
  /** 'scratch', or the key of the teacher it started from. */
  init: string;
  /** Each TD3 run tried (a warm start, then from scratch if it failed), with its evaluation. */
  attempts: { init: string; seed: number; steps: number; warmup?: number; seconds: number; evalMean: number }[];
  seconds: number;
  /** Mean of the last 10 training episodes (with exploration noise); null if none finished. */
  trainTail: number | null;
  evalReturns: number[];
  evalMean: number;
  /** The deterministic rollouts that make the dataset (TeacherRollout's arrays as plain arrays). */
  rollout: {
    observationSize: number;
    actionSize: number;
    returns: number[];
    states: number[];
    actions: number[];
    rewards: number[];
    nextStates: number[];
    dones: number[];
    values: number[];
  };
  /** The teacher's variables (actor, critics, targets): the next context's warm start. */
  weights: Record<string, number[]>;
}

const numbers = z.array(z.number().finite());
const teacherSettingsSchema = z.object({
  teacherSteps: z.number().int(),
  warmSteps: z.number().int(),
  gamma: z.number(),
  evalEpisodes: z.number().int(),
});
export const teacherRecordSchema: z.ZodType<TeacherRecord> = z.object({
  context: numbers,
  /** The experiment options that shaped the teacher: a saved one is used only by an experiment with the same. */
  settings: teacherSettingsSchema,
  split: z.enum(['train', 'test']),
  /** 'scratch', or the key of the teacher it started from. */
  init: z.string(),
  attempts: z
    .array(
      z.object({
        init: z.string(),
        seed: z.number().int(),
        steps: z.number().int(),
        warmup: z.number().int().optional(),
        seconds: z.number(),
        evalMean: z.number(),
      }),
    )
    .max(16),
  seconds: z.number(),
  /** Mean of the last 10 training episodes (with exploration noise); null if none finished. */
  trainTail: z.number().nullable(),
  evalReturns: numbers,
  evalMean: z.number(),
  rollout: z.object({
    observationSize: z.number().int().positive(),
    actionSize: z.number().int().positive(),
    returns: numbers,
    states: numbers,
    actions: numbers,
    rewards: numbers,
    nextStates: numbers,
    dones: numbers,
    values: numbers,
  }),
  /** The teacher's variables (actor, critics, targets): the next context's warm start. */
  weights: z.record(z.string(), numbers),
});

/** A rollout as a record keeps it (plain arrays). */
export function rolloutJson(data: TeacherRollout): TeacherRecord['rollout'] {
  return {
    observationSize: data.observationSize,
    actionSize: data.actionSize,
    returns: data.returns,
    states: Array.from(data.states),
    actions: Array.from(data.actions),
    rewards: Array.from(data.rewards),
    nextStates: Array.from(data.nextStates),
    dones: Array.from(data.dones),
    values: Array.from(data.values),
  };
}

export function rolloutOf(t: TeacherRecord): TeacherRollout {
  const r = t.rollout;
  return {
    ...r,
    states: Float32Array.from(r.states),
    actions: Float32Array.from(r.actions),
    rewards: Float32Array.from(r.rewards),
    nextStates: Float32Array.from(r.nextStates),
    dones: Float32Array.from(r.dones),
    values: Float32Array.from(r.values),
  };
}

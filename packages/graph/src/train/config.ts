import { z } from 'zod';
import { type TrainerCallbacks, type TrainingOptions } from '@hypernets/core';
import { objectOption, parseTrainingOptions, trainingOptionsSchema } from '@hypernets/core/internal';
import type { DataSplit } from '@hypernets/data';
import type { GHN2 } from '../ghn2.js';
import type { ArchSource } from './arch.js';
import type { GhnTrainEvent } from './events.js';

export const posInt = z.number().int().positive();

const optionsSchema = trainingOptionsSchema
  .extend({
    ghn: objectOption<GHN2>('a GHN2 or GHN3'),
    source: objectOption<ArchSource>('an ArchSource (an object with sample(rng))'),
    train: objectOption<DataSplit>('a DataSplit'),
    steps: posInt,
    archsPerStep: posInt.default(8),
    batchSize: posInt.default(64),
    lr: z.number().positive().finite().default(1e-3),
    weightDecay: z.number().nonnegative().finite().default(1e-5),
    gradClip: z.number().positive().nullable().default(5),
    lrMilestones: z.array(z.number().int().nonnegative()).optional(),
    gamma: z.number().positive().finite().default(0.1),
    logEvery: posInt.default(10),
    maxSkips: z.number().int().nonnegative().optional(),
  })
  .strict();

export interface GhnTrainerOptions extends TrainingOptions {
  /** The GHN to meta-train (GHN-2, or GHN-3/LoGAH). */
  ghn: GHN2;
  /** Where each step's architectures come from. */
  source: ArchSource;
  /** The images every architecture is trained on. */
  train: DataSplit;
  /** Meta-training steps (one batch of images, `archsPerStep` architectures each). */
  steps: number;
  /** m, architectures per step (ppuda's -m / meta_batch_size; GHN-2: 8). Default 8. */
  archsPerStep?: number;
  /** Images per step (ppuda's CIFAR-10 default: 64). Default 64. */
  batchSize?: number;
  /** Adam learning rate. Default 1e-3 (ppuda). */
  lr?: number;
  /** torch.optim.Adam weight decay (L2 in the gradient). Default 1e-5 (ppuda). */
  weightDecay?: number;
  /** Clip the GHN's gradients to this global norm (ppuda's clip_grad_norm_ at 5); null: no clipping. Default 5. */
  gradClip?: number | null;
  /**
   * MultiStepLR milestones in steps: lr ← lr·gamma at each. Default [⌊2K/3⌋, ⌊5K/6⌋] for K steps
   * (ppuda: epochs 200 and 250 of 300).
   */
  lrMilestones?: number[];
  /** Default 0.1 (ppuda). */
  gamma?: number;
  /** Seeds architecture draws, the image order and the init of unpredicted parameters. Default 0. */
  seed?: number;
  /** Emit a step event (and a curve point) every this many steps. Default 10. */
  logEvery?: number;
  /** Checkpoint every this many steps (and always at the end). Default: at the end only. */
  checkpointEvery?: number;
  /**
   * Steps skipped for a non-finite loss or gradient before giving up with a TrainingError
   * (ppuda: 1/50 of an epoch's batches). Default max(10, ⌊steps/50⌋).
   */
  maxSkips?: number;
  callbacks?: TrainerCallbacks<GhnTrainEvent>;
}

type Parsed = z.output<typeof optionsSchema>;
/** The hyperparameters, defaults filled in. */
export type Resolved = Omit<Parsed, 'ghn' | 'source' | 'train' | 'callbacks' | 'lrMilestones' | 'maxSkips'> & {
  lrMilestones: number[];
  maxSkips: number;
};

/** Parses the options (a ConfigError names the first bad one) and fills in the defaults that depend on `steps`. */
export function resolveOptions(
  options: GhnTrainerOptions,
): { config: Resolved } & Pick<Parsed, 'ghn' | 'source' | 'train' | 'callbacks'> {
  const { ghn, source, train, callbacks, ...c } = parseTrainingOptions(optionsSchema, options);
  const lrMilestones = c.lrMilestones ?? [Math.floor((2 * c.steps) / 3), Math.floor((5 * c.steps) / 6)];
  const config = {
    ...c,
    lrMilestones: [...lrMilestones].sort((a, b) => a - b),
    maxSkips: c.maxSkips ?? Math.max(10, Math.floor(c.steps / 50)),
  };
  return { config, ghn, source, train, callbacks };
}

/** MultiStepLR: the rate for (0-based) step `step`. */
export function multiStepLr(lr: number, milestones: readonly number[], gamma: number, step: number): number {
  let n = 0;
  for (const m of milestones) if (step >= m) n++;
  return lr * gamma ** n;
}

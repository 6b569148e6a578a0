import { z } from 'zod';
import type { SamplerState } from '@hypernets/data';

export type GhnTrainEvent =
  | {
      type: 'step';
      step: number;
      steps: number;
      loss: number;
      accuracy: number;
      lr: number;
      archsPerSecond: number;
      skipped: number;
    }
  | { type: 'skip'; step: number; loss: number; gradNorm: number; skipped: number }
  | { type: 'checkpoint'; step: number; path: string }
  | { type: 'resume'; step: number; path: string };

export interface GhnCurvePoint {
  step: number;
  /** Mean cross-entropy over the step's m architectures. */
  loss: number;
  /** Training accuracy of the predicted parameters, over the m architectures and the batch. */
  accuracy: number;
  lr: number;
}

export interface GhnTrainResult {
  /** Steps done (equals config.steps unless stopped early with `until`). */
  step: number;
  /** Steps whose loss or gradients were not finite (no update). */
  skipped: number;
  /** Wall time of training, summed over resumed runs. */
  seconds: number;
  /** Distinct architecture ids drawn. */
  archsSeen: number;
  curve: GhnCurvePoint[];
}

export interface Progress {
  step: number;
  skipped: number;
  seconds: number;
  rng: number[];
  sampler: SamplerState | null;
  adamStep: number;
  seen: (string | number)[];
  curve: GhnCurvePoint[];
}

export const progressSchema = z.object({
  step: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  rng: z.array(z.number().int()).min(1),
  sampler: z
    .object({
      epochRng: z.array(z.number().int()).min(1),
      epoch: z.number().int().nonnegative(),
      position: z.number().int().nonnegative(),
    })
    .nullable(),
  adamStep: z.number().int().nonnegative(),
  seen: z.array(z.union([z.string(), z.number()])),
  curve: z.array(z.object({ step: z.number(), loss: z.number(), accuracy: z.number(), lr: z.number() })),
});

export const ghnMetaSchema = z
  .object({ ghnConfig: z.unknown(), ghnTrainer: progressSchema, config: z.unknown().optional() })
  .passthrough();

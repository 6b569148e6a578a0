import { z } from 'zod';
import { boundedArray, rngStateSchema, samplerStateSchema } from '@hypernets/core/internal';

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

/** What a checkpoint holds of the run besides tensors. */
export const progressSchema = z.object({
  step: z.number().int().nonnegative(),
  skipped: z.number().int().nonnegative(),
  seconds: z.number().nonnegative(),
  rng: rngStateSchema,
  sampler: samplerStateSchema.nullable(),
  adamStep: z.number().int().nonnegative(),
  seen: boundedArray(z.union([z.string(), z.number()])),
  curve: boundedArray(z.object({ step: z.number(), loss: z.number(), accuracy: z.number(), lr: z.number() })),
});

export type Progress = z.infer<typeof progressSchema>;

export const GHN_EVENT_TYPES: readonly GhnTrainEvent['type'][] = ['step', 'skip', 'checkpoint', 'resume'];

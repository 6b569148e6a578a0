import type * as tf from '@tensorflow/tfjs-core';
import type { z } from 'zod';
import { CheckpointError, ConfigError } from '../errors/index.js';
import { zodDetail } from '../io/checkpoint/meta.js';
import { assertSameRunConfig, loadCheckpointIfAny, type Checkpoint } from '../io/checkpoint/load.js';
import { saveCheckpoint } from '../io/checkpoint/save.js';

export interface RunCheckpointOptions<P> {
  /** The run's checkpoint directory (`checkpoint.*` inside it); none: the run does not checkpoint. */
  dir: string | undefined;
  /** The metadata key of the trainer's progress (`'continual'`, `'ghnTrainer'`, …), and what it is called. */
  kind: string;
  /** What the progress is called in messages: "is not a <what> checkpoint". */
  what: string;
  /** The progress's schema: what a resume reads back is parsed with it before anything is restored. */
  progress: z.ZodType<P, z.ZodTypeDef, unknown>;
  /** Must equal the one a checkpoint was written with for it to be resumed. */
  fingerprint: unknown;
  /** What to do when the fingerprints differ (ends the CheckpointConfigError's message). */
  hint?: string;
}

export interface RunSave<P> {
  /** The run's global step (the metadata's `step`). */
  step: number;
  progress: P;
  /** Every tensor the run needs back (weights, optimizer moments, …); not disposed. */
  tensors: Record<string, tf.Tensor>;
  /** More top-level metadata (e.g. the model's config, to check on resume). */
  meta?: Record<string, unknown>;
}

/**
 * A training run's checkpoint: the progress (position, random and sampler states, learning
 * curve: JSON, validated with the trainer's zod schema on the way back) next to the tensors, in
 * one atomic save. Every trainer saves and resumes through one of these, so a kill at any point
 * leaves the last checkpoint intact and a resume continues from it exactly, or says why not.
 */
export class RunCheckpoint<P> {
  /** `<dir>/checkpoint`, or null without a directory. */
  readonly path: string | null;

  constructor(readonly options: RunCheckpointOptions<P>) {
    this.path = options.dir ? `${options.dir.replace(/[\\/]+$/, '')}/checkpoint` : null;
  }

  /** Saves (atomically; the previous checkpoint stays intact on any error). Returns the path. */
  async save(s: RunSave<P>): Promise<string> {
    const path = this.path;
    if (!path) throw new ConfigError('checkpointDir', 'is needed to save a checkpoint');
    await saveCheckpoint(path, {
      tensors: s.tensors,
      meta: {
        ...s.meta,
        step: s.step,
        config: (this.options.fingerprint ?? null) as never,
        [this.options.kind]: s.progress,
      },
    });
    return path;
  }

  /**
   * Loads the checkpoint and hands it to `apply` once its progress parses and its fingerprint
   * matches; `apply` checks what else must match (throwing a CheckpointError before it changes
   * anything) and assigns the tensors. Null when nothing has been saved yet: start from the
   * beginning. The loaded tensors are disposed afterwards.
   */
  async restore(apply: (ck: Checkpoint, progress: P) => void | Promise<void>): Promise<P | null> {
    const path = this.path;
    if (!path) throw new ConfigError('resume', 'needs checkpointDir');
    const ck = await loadCheckpointIfAny(path);
    if (!ck) return null;
    try {
      const { kind, what, fingerprint, hint } = this.options;
      if (!Object.hasOwn(ck.meta, kind))
        throw new CheckpointError(ck.paths.meta, `is not a ${what} checkpoint (no \`${kind}\` metadata)`);
      const parsed = this.options.progress.safeParse(ck.meta[kind]);
      if (!parsed.success)
        throw new CheckpointError(ck.paths.meta, `is not a ${what} checkpoint (${zodDetail(parsed.error, kind)})`);
      assertSameRunConfig(ck.paths.meta, fingerprint, ck.meta.config, hint);
      await apply(ck, parsed.data);
      return parsed.data;
    } finally {
      ck.dispose();
    }
  }
}

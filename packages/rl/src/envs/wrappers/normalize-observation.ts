import { ConfigError } from '@hypernets/core';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import { Box, type ActionOf, type Space } from '../spaces.js';
import { RunningMeanStd } from './running-mean-std.js';
import { Wrapper } from './wrapper.js';

export interface NormalizeObservationOptions {
  /** Added to the variance under the square root (default 1e-8). */
  epsilon?: number;
  /** Normalised values are clipped to ±clip (default 10, SB3's VecNormalize; Infinity for none, as Gymnasium). */
  clip?: number;
}

/**
 * Normalises each observation by a running mean and variance: (o − μ) / √(σ² + ε), clipped to
 * ±clip. The statistics are updated with every observation, the reset ones included (Gymnasium's
 * NormalizeObservation, SB3's VecNormalize), until `updateRunningMean` is set to false (evaluation).
 */
export class NormalizeObservation<S extends Space = Space> extends Wrapper<S> {
  readonly obsRms: RunningMeanStd;
  /** Whether observations update the statistics (turn off to evaluate with frozen statistics). */
  updateRunningMean = true;
  readonly epsilon: number;
  readonly clip: number;
  private readonly space: Box;

  constructor(env: Env<S>, options: NormalizeObservationOptions = {}) {
    super(env);
    this.epsilon = positive(options.epsilon ?? 1e-8, 'epsilon');
    this.clip = positive(options.clip ?? 10, 'clip');
    this.obsRms = new RunningMeanStd(env.observationSpace.size);
    this.space = new Box(-this.clip, this.clip, env.observationSpace.shape);
  }

  override get observationSpace(): Box {
    return this.space;
  }

  override reset(options?: ResetOptions): ResetResult {
    const r = this.env.reset(options);
    return { ...r, observation: this.normalize(r.observation) };
  }

  override step(action: ActionOf<S>): StepResult {
    const r = this.env.step(action);
    return { ...r, observation: this.normalize(r.observation) };
  }

  private normalize(obs: Float32Array): Float32Array {
    if (this.updateRunningMean) this.obsRms.update(obs);
    const { mean, var: v } = this.obsRms;
    const out = new Float32Array(obs.length);
    for (let i = 0; i < obs.length; i++) {
      const z = (obs[i] - mean[i]) / Math.sqrt(v[i] + this.epsilon);
      out[i] = Math.min(Math.max(z, -this.clip), this.clip);
    }
    return out;
  }
}

export function positive(v: number, field: string): number {
  if (!(v > 0)) throw new ConfigError(field, `must be a positive number, got ${v}`);
  return v;
}

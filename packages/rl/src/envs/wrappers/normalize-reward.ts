import { ConfigError } from '@hypernets/core';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import type { ActionOf, Space } from '../spaces.js';
import { positive } from './normalize-observation.js';
import { RunningMeanStd } from './running-mean-std.js';
import { Wrapper } from './wrapper.js';

export interface NormalizeRewardOptions {
  /** Discount of the return whose spread scales the rewards (default 0.99). */
  gamma?: number;
  /** Added to the variance under the square root (default 1e-8). */
  epsilon?: number;
  /** Scaled rewards are clipped to ±clip (default 10, SB3's VecNormalize; Infinity for none). */
  clip?: number;
}

/**
 * Scales rewards by the running standard deviation of the discounted return, as SB3's VecNormalize
 * and the gym 0.2x NormalizeReward that CleanRL's PPO uses: R ← γR + r; update the statistics with R;
 * give r / √(var(R) + ε), clipped to ±clip; R ← 0 when the episode ends (terminated or truncated)
 * and on reset(). The mean is not subtracted (openai/baselines#538). Gymnasium 1.x differs in one
 * place: it zeroes R before adding the reward of a terminating step and keeps R across truncations.
 */
export class NormalizeReward<S extends Space = Space> extends Wrapper<S> {
  readonly returnRms = new RunningMeanStd(1);
  /** Whether rewards update the statistics (turn off to evaluate with frozen statistics). */
  updateRunningMean = true;
  readonly gamma: number;
  readonly epsilon: number;
  readonly clip: number;
  /** The discounted return R so far in this episode. */
  discountedReturn = 0;

  constructor(env: Env<S>, options: NormalizeRewardOptions = {}) {
    super(env);
    this.gamma = options.gamma ?? 0.99;
    if (!(this.gamma >= 0 && this.gamma <= 1)) throw new ConfigError('gamma', `must be in [0, 1], got ${this.gamma}`);
    this.epsilon = positive(options.epsilon ?? 1e-8, 'epsilon');
    this.clip = positive(options.clip ?? 10, 'clip');
  }

  override reset(options?: ResetOptions): ResetResult {
    this.discountedReturn = 0;
    return this.env.reset(options);
  }

  override step(action: ActionOf<S>): StepResult {
    const r = this.env.step(action);
    this.discountedReturn = this.discountedReturn * this.gamma + r.reward;
    if (this.updateRunningMean) this.returnRms.update([this.discountedReturn]);
    const scaled = r.reward / Math.sqrt(this.returnRms.var[0] + this.epsilon);
    if (r.terminated || r.truncated) this.discountedReturn = 0;
    return { ...r, reward: Math.min(Math.max(scaled, -this.clip), this.clip) };
  }
}

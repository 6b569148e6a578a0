import { ConfigError } from '@hypernets/core';
import { ResetNeededError } from '../../errors.js';
import type { Env, ResetOptions, ResetResult, StepResult } from '../env.js';
import type { ActionOf, Space } from '../spaces.js';
import { Wrapper } from './wrapper.js';

/**
 * Truncates an episode after `maxEpisodeSteps` steps (`truncated: true` on that step), as
 * Gymnasium's TimeLimit; makeEnv adds it with each env's registered limit. Stepping on after a
 * truncation without reset() throws ResetNeededError.
 */
export class TimeLimit<S extends Space = Space> extends Wrapper<S> {
  private elapsed = 0;
  private ended = false;

  constructor(
    env: Env<S>,
    readonly maxEpisodeSteps: number,
  ) {
    super(env);
    if (!Number.isInteger(maxEpisodeSteps) || maxEpisodeSteps < 1)
      throw new ConfigError('maxEpisodeSteps', `must be a positive integer, got ${maxEpisodeSteps}`);
  }

  /** Steps taken in the current episode. */
  get elapsedSteps(): number {
    return this.elapsed;
  }

  override reset(options?: ResetOptions): ResetResult {
    this.elapsed = 0;
    this.ended = false;
    return this.env.reset(options);
  }

  override step(action: ActionOf<S>): StepResult {
    if (this.ended)
      throw new ResetNeededError(
        this.spec?.id ?? 'TimeLimit',
        `step() was called after the episode was truncated at ${this.maxEpisodeSteps} steps`,
      );
    const r = this.env.step(action);
    this.elapsed += 1;
    if (this.elapsed >= this.maxEpisodeSteps) {
      this.ended = true;
      return { ...r, truncated: true };
    }
    return r;
  }
}

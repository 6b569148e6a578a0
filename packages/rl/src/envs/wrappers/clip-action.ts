import type { Env, StepResult } from '../env.js';
import { Box } from '../spaces.js';
import { Wrapper } from './wrapper.js';

/**
 * Clips a Box action to the wrapped env's [low, high] before stepping (Gymnasium's ClipAction):
 * the wrapper's own action space is unbounded, so a Gaussian policy's raw samples are valid
 * actions. NaN is still refused by the env (InvalidActionError).
 */
export class ClipAction extends Wrapper<Box> {
  private readonly clipped: Box;

  constructor(env: Env<Box>) {
    super(env);
    const inner = env.actionSpace;
    this.clipped = new Box(-Infinity, Infinity, inner.shape);
  }

  override get actionSpace(): Box {
    return this.clipped;
  }

  override step(action: ArrayLike<number>): StepResult {
    const { low, high } = this.env.actionSpace;
    // A wrong length or a non-number passes through unchanged, for the env to refuse with its message.
    if (action == null || typeof action !== 'object' || action.length !== low.length) return this.env.step(action);
    const a = new Float64Array(low.length);
    for (let i = 0; i < a.length; i++) {
      const v = action[i];
      a[i] = typeof v === 'number' && !Number.isNaN(v) ? Math.min(Math.max(v, low[i]), high[i]) : v;
    }
    return this.env.step(a);
  }
}

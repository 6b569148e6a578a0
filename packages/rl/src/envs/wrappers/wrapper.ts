import type { Env, EnvSpec, ResetOptions, ResetResult, StepResult } from '../env.js';
import type { ActionOf, Box, Space } from '../spaces.js';

/** An env around another: by default every call and space passes through (Gymnasium's `Wrapper`). */
export class Wrapper<S extends Space = Space> implements Env<S> {
  constructor(readonly env: Env<S>) {}

  get observationSpace(): Box {
    return this.env.observationSpace;
  }
  get actionSpace(): S {
    return this.env.actionSpace;
  }
  get spec(): EnvSpec | null {
    return this.env.spec;
  }
  get unwrapped(): Env<Space> {
    return this.env.unwrapped;
  }
  reset(options?: ResetOptions): ResetResult {
    return this.env.reset(options);
  }
  step(action: ActionOf<S>): StepResult {
    return this.env.step(action);
  }
  close(): void {
    this.env.close();
  }
}

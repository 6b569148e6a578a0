export interface StepLoopOptions {
  /** Steps already done (where a resumed run stands). */
  from: number;
  /** The step to stop after. */
  to: number;
  /** Steps whose numbers are read back and reported: every this many, and the last. */
  logEvery: number;
  /** Checkpoint after every this many steps; null: never inside the loop. */
  checkpointEvery: number | null;
  /** Checkpoint after step `to` too (else the trainer saves at its own ends, e.g. after evaluating). */
  checkpointLast: boolean;
}

export interface StepLoopHooks {
  /** Does step `step` (1-based: the number of steps done once it returns); `log` says whether to read back and report. */
  step(step: number, log: boolean): void | Promise<void>;
  /** Saves a checkpoint standing after step `step`. */
  checkpoint(step: number): Promise<void>;
}

/**
 * The step loop every trainer shares: steps `from + 1 … to`, with the same rule for when a step
 * reports (every `logEvery`, and the last) and when a checkpoint is saved. Returns the step it
 * stopped after (`to`, or `from` when there was nothing to do).
 */
export async function runSteps(o: StepLoopOptions, hooks: StepLoopHooks): Promise<number> {
  let step = o.from;
  while (step < o.to) {
    step++;
    await hooks.step(step, step % o.logEvery === 0 || step === o.to);
    const periodic = o.checkpointEvery !== null && step % o.checkpointEvery === 0;
    if (step === o.to ? o.checkpointLast : periodic) await hooks.checkpoint(step);
  }
  return step;
}

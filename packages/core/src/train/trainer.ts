/** What `run` takes: every trainer resumes from its checkpoint directory with `resume: true`. */
export interface RunOptions {
  /** Continue from the checkpoint in `checkpointDir` (none there yet: from the beginning). */
  resume?: boolean;
}

/**
 * The shape of every trainer (continual, GHN meta-training, and those to come): built from one
 * options object (the model and data, the hyperparameters, `checkpointDir`/`checkpointEvery`/
 * `fingerprint`, tfjs-style `callbacks`), checked with zod when constructed; `run()` trains to the
 * end, checkpointing through a RunCheckpoint and stepping through `runSteps`, and returns the
 * result; a killed run resumed with `run({ resume: true })` ends with the numbers of one that
 * never stopped, on the same backend.
 */
export interface Trainer<R, O extends RunOptions = RunOptions> {
  run(options?: O): Promise<R>;
}

import * as tf from '@tensorflow/tfjs-core';

/**
 * A copy of a run's variables at its best validation step: taken when validation improves,
 * assigned back before the final test (`load_best_model_at_end`), and kept in the run's
 * checkpoint under `best.<name>` so that a resumed run tests the same variables.
 */
export class BestSnapshot {
  private values: Record<string, tf.Tensor> | null = null;

  /** `variables()`: the run's variables by stable name (called when needed). */
  constructor(private readonly variables: () => Readonly<Record<string, tf.Variable>>) {}

  get taken(): boolean {
    return this.values !== null;
  }

  /** Copies the variables now (the previous copy is freed). */
  take(): void {
    this.dispose();
    this.values = Object.fromEntries(Object.entries(this.variables()).map(([k, v]) => [k, tf.clone(v)]));
  }

  /** Assigns the copy back to the variables (nothing when none was taken). */
  assignBack(): void {
    if (!this.values) return;
    for (const [k, v] of Object.entries(this.variables())) v.assign(this.values[k]!);
  }

  /** The copy under `best.<name>`, for a checkpoint (empty when none was taken). */
  tensors(): Record<string, tf.Tensor> {
    return this.values ? Object.fromEntries(Object.entries(this.values).map(([k, v]) => [`best.${k}`, v])) : {};
  }

  /**
   * Restores the copy along with a checkpoint: when `saved` (the checkpoint holds one), `restore`
   * gets stand-in variables `best.<name>` to fill with the rest of the run's tensors; they become
   * the copy if it returns, and are freed if it throws (the previous copy then stays).
   */
  restoreWith(saved: boolean, restore: (standIns: Record<string, tf.Variable>) => void): void {
    const standIns: Record<string, tf.Variable> = {};
    if (saved)
      for (const [k, v] of Object.entries(this.variables()))
        standIns[`best.${k}`] = tf.tidy(() => tf.variable(tf.zerosLike(v), false));
    try {
      restore(standIns);
    } catch (e) {
      tf.dispose(Object.values(standIns));
      throw e;
    }
    this.dispose();
    this.values = saved ? Object.fromEntries(Object.entries(standIns).map(([k, v]) => [k.slice(5), v])) : null;
  }

  dispose(): void {
    if (this.values) tf.dispose(Object.values(this.values));
    this.values = null;
  }
}

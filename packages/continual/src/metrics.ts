/**
 * Continual-learning metrics over an accuracy matrix R, R[i][j] = test accuracy on task j
 * after training task i (null where j > i: not evaluated).
 */
export type AccuracyMatrix = (number | null)[][];

/** Mean over tasks of the final row: the accuracy everyone reports (the paper's "average"). */
export function averageAccuracy(R: AccuracyMatrix): number {
  const last = R[R.length - 1] ?? [];
  const vals = last.filter((v): v is number => v !== null);
  return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : NaN;
}

/**
 * Backward transfer (Lopez-Paz & Ranzato 2017): (1/(T−1)) Σ_{j<T−1} (R[T−1][j] − R[j][j]).
 * Negative when learning later tasks hurt earlier ones. NaN for a single task.
 */
export function backwardTransfer(R: AccuracyMatrix): number {
  const T = R.length;
  if (T < 2) return NaN;
  let s = 0;
  for (let j = 0; j < T - 1; j++) s += (R[T - 1]![j] as number) - (R[j]![j] as number);
  return s / (T - 1);
}

/**
 * Average forgetting (Chaudhry et al. 2018): for each task j < T−1, the best accuracy it had
 * before the end minus its final accuracy, averaged. NaN for a single task.
 */
export function forgetting(R: AccuracyMatrix): number {
  const T = R.length;
  if (T < 2) return NaN;
  let s = 0;
  for (let j = 0; j < T - 1; j++) {
    let best = -Infinity;
    for (let l = j; l < T - 1; l++) best = Math.max(best, R[l]![j] as number);
    s += best - (R[T - 1]![j] as number);
  }
  return s / (T - 1);
}

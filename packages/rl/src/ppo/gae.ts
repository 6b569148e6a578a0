import { ConfigError } from '@hypernets/core';

/** A rollout of `numSteps` steps of `numEnvs` envs, every array [T, N] row-major (index t · N + i). */
export interface GaeInput {
  numSteps: number;
  numEnvs: number;
  /** r_t: the reward of the step taken from observation t. */
  rewards: ArrayLike<number>;
  /** V(o_t), the critic's value of observation t. */
  values: ArrayLike<number>;
  /**
   * 1 where observation t is the first of a new episode (the step before it ended one, by
   * termination or truncation: CleanRL's `dones[t]`, its `next_done` at the step before), else 0.
   */
  dones: ArrayLike<number>;
  /** V of the observation after the last step, per env (CleanRL's `next_value`). */
  nextValues: ArrayLike<number>;
  /** 1 where the last step ended an episode (CleanRL's `next_done`), per env. */
  nextDones: ArrayLike<number>;
  /**
   * Optional [T, N]: where step t was truncated (not terminated), V of its final observation, 0
   * elsewhere; γ times it is added to r_t (SB3's bootstrap of time-limit truncations). Without it
   * a truncation cuts the return like a termination, as CleanRL's PPO does.
   */
  truncationValues?: ArrayLike<number>;
  gamma: number;
  lambda: number;
}

export interface GaeResult {
  /** Â_t = Σ_k (γλ)^k δ_{t+k}, cut at episode ends: [T, N]. */
  advantages: Float32Array;
  /** Â_t + V(o_t), the critic's targets: [T, N]. */
  returns: Float32Array;
}

/**
 * Generalised advantage estimation (Schulman et al. 2016) over a vectorised rollout, as CleanRL's
 * PPO computes it, backwards from the last step:
 * δ_t = r_t + γ V(o_{t+1}) (1 − d_{t+1}) − V(o_t), Â_t = δ_t + γλ (1 − d_{t+1}) Â_{t+1},
 * where o_T, d_T are the next observation's value and done flag. Float64 inside.
 */
export function gae(input: GaeInput): GaeResult {
  const { numSteps: T, numEnvs: N, gamma, lambda } = input;
  if (!Number.isInteger(T) || T < 1 || !Number.isInteger(N) || N < 1)
    throw new ConfigError('gae', `numSteps and numEnvs must be positive integers, got ${T} and ${N}`);
  if (!(gamma >= 0 && gamma <= 1)) throw new ConfigError('gamma', `must be in [0, 1], got ${gamma}`);
  if (!(lambda >= 0 && lambda <= 1)) throw new ConfigError('gaeLambda', `must be in [0, 1], got ${lambda}`);
  const need = (name: string, a: ArrayLike<number> | undefined, n: number) => {
    if (a !== undefined && a.length !== n)
      throw new ConfigError(
        `gae ${name}`,
        `has ${a.length} values; expected ${n} (${n === N ? 'numEnvs' : 'numSteps × numEnvs'})`,
      );
  };
  need('rewards', input.rewards, T * N);
  need('values', input.values, T * N);
  need('dones', input.dones, T * N);
  need('truncationValues', input.truncationValues, T * N);
  need('nextValues', input.nextValues, N);
  need('nextDones', input.nextDones, N);
  const { rewards, values, dones, nextValues, nextDones, truncationValues: boot } = input;
  const advantages = new Float32Array(T * N);
  const returns = new Float32Array(T * N);
  for (let i = 0; i < N; i++) {
    let last = 0;
    for (let t = T - 1; t >= 0; t--) {
      const at = t * N + i;
      const notDone = t === T - 1 ? 1 - nextDones[i]! : 1 - dones[at + N]!;
      const nextValue = t === T - 1 ? nextValues[i]! : values[at + N]!;
      const r = boot ? rewards[at]! + gamma * boot[at]! : rewards[at]!;
      const delta = r + gamma * nextValue * notDone - values[at]!;
      last = delta + gamma * lambda * notDone * last;
      advantages[at] = last;
      returns[at] = last + values[at]!;
    }
  }
  return { advantages, returns };
}

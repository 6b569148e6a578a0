import { ConfigError } from '@hypernets/core';
import { InvalidActionError } from '../../errors.js';
import type { Env, Info, ResetOptions } from '../env.js';
import { Box, checkSeed, type ActionOf, type Space } from '../spaces.js';

export interface VectorResetResult {
  /** [numEnvs, ...single observation shape], row-major. */
  observations: Float32Array;
  infos: Info[];
}

export interface VectorStepResult {
  /** [numEnvs, ...single observation shape]: after an episode ended, the first observation of the next. */
  observations: Float32Array;
  rewards: Float64Array;
  terminated: boolean[];
  truncated: boolean[];
  /**
   * One info per env. Where env i's episode ended on this step, `infos[i].finalObservation` holds
   * its last observation (a Float32Array; bootstrap truncated episodes from it) and
   * `infos[i].finalInfo` the info of that step (with `episode` under RecordEpisodeStatistics).
   */
  infos: Info[];
}

/**
 * Several envs stepped one after another in this thread (Gymnasium's SyncVectorEnv).
 *
 * Autoreset is **same-step** (Gymnasium's `AutoresetMode.SAME_STEP`, SB3's VecEnv, gym 0.2x): when
 * env i terminates or truncates, it is reset within the same `step()` call; `observations` then
 * holds the reset observation, `rewards`/`terminated`/`truncated` those of the final step, and
 * `infos[i]` the final observation and info. So every step() call advances every env by one real
 * step (no reward-0 autoreset steps, unlike Gymnasium 1.x's default next-step mode).
 */
export class SyncVectorEnv<S extends Space = Space> {
  readonly envs: Env<S>[];
  readonly numEnvs: number;
  readonly singleObservationSpace: Box;
  readonly singleActionSpace: S;
  /** The batched observation space: [numEnvs, ...single shape]. */
  readonly observationSpace: Box;
  private readonly obsSize: number;

  constructor(envFns: ReadonlyArray<() => Env<S>>) {
    if (envFns.length < 1) throw new ConfigError('envFns', 'give at least one env factory');
    this.envs = envFns.map((f) => f());
    this.numEnvs = this.envs.length;
    const first = this.envs[0];
    this.singleObservationSpace = first.observationSpace;
    this.singleActionSpace = first.actionSpace;
    this.obsSize = first.observationSpace.size;
    for (const [i, e] of this.envs.entries()) {
      if (e.observationSpace.size !== this.obsSize || e.actionSpace.kind !== first.actionSpace.kind)
        throw new ConfigError(`envFns[${i}]`, 'every env must have the same observation and action spaces');
    }
    const tile = (a: Float32Array) => Array.from({ length: this.numEnvs }, () => Array.from(a)).flat();
    this.observationSpace = new Box(tile(first.observationSpace.low), tile(first.observationSpace.high), [
      this.numEnvs,
      ...first.observationSpace.shape,
    ]);
  }

  /** Resets every env; a seed s seeds env i with s + i (as Gymnasium's vector envs). */
  reset(options: ResetOptions = {}): VectorResetResult {
    if (options.seed !== undefined) checkSeed(options.seed);
    const observations = new Float32Array(this.numEnvs * this.obsSize);
    const infos: Info[] = [];
    for (const [i, env] of this.envs.entries()) {
      const seed = options.seed === undefined ? undefined : options.seed + i;
      const r = env.reset({ seed, options: options.options });
      observations.set(r.observation, i * this.obsSize);
      infos.push(r.info);
    }
    return { observations, infos };
  }

  /**
   * One step of every env. `actions`: for a Discrete action space, numEnvs integers; for a Box,
   * numEnvs × size numbers row-major, or numEnvs arrays of size numbers.
   */
  step(actions: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>): VectorStepResult {
    const observations = new Float32Array(this.numEnvs * this.obsSize);
    const rewards = new Float64Array(this.numEnvs);
    const terminated: boolean[] = [];
    const truncated: boolean[] = [];
    const infos: Info[] = [];
    const perEnv = this.split(actions);
    for (const [i, env] of this.envs.entries()) {
      const r = env.step(perEnv[i] as ActionOf<S>);
      rewards[i] = r.reward;
      terminated.push(r.terminated);
      truncated.push(r.truncated);
      if (r.terminated || r.truncated) {
        const next = env.reset();
        observations.set(next.observation, i * this.obsSize);
        infos.push({ ...next.info, finalObservation: r.observation, finalInfo: r.info });
      } else {
        observations.set(r.observation, i * this.obsSize);
        infos.push(r.info);
      }
    }
    return { observations, rewards, terminated, truncated, infos };
  }

  close(): void {
    for (const e of this.envs) e.close();
  }

  private split(actions: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>): Array<number | ArrayLike<number>> {
    const n = this.numEnvs;
    const name = this.envs[0].spec?.id ?? 'SyncVectorEnv';
    if (actions == null || typeof actions !== 'object' || typeof actions.length !== 'number')
      throw new InvalidActionError(name, actions, `expected actions for ${n} envs`);
    const space = this.singleActionSpace;
    if (space.kind === 'discrete') {
      if (actions.length !== n)
        throw new InvalidActionError(name, actions, `has ${actions.length} actions; expected one per env (${n})`);
      return Array.from(actions as ArrayLike<number>);
    }
    const size = space.size;
    if (actions.length === n && typeof actions[0] === 'object')
      return Array.from(actions as ReadonlyArray<ArrayLike<number>>);
    if (actions.length !== n * size)
      throw new InvalidActionError(
        name,
        actions,
        `has ${actions.length} values; expected ${n} × ${size} (numEnvs × action size) or ${n} arrays`,
      );
    const flat = actions as ArrayLike<number>;
    return Array.from({ length: n }, (_, i) => Array.prototype.slice.call(flat, i * size, (i + 1) * size) as number[]);
  }
}

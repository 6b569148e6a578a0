import { ConfigError, Rng } from '@hypernets/core';
import { ResetNeededError } from '../../errors.js';
import type { Env, EnvSpec, Info, ResetOptions, ResetResult, StepResult } from '../env.js';
import { checkAction, checkSeed, entropySeed, type ActionOf, type Box, type Space } from '../spaces.js';

/** What a classic-control env's `transition` returns (the base class adds truncated = false and info). */
export interface Transition {
  observation: Float32Array;
  reward: number;
  terminated: boolean;
}

/**
 * What the five classic-control envs share: the seeded random stream (core's `Rng`), the order
 * checks (no step before reset or after termination: ResetNeededError), action checks
 * (InvalidActionError), and the physical state as float64 values, readable and settable like
 * Gymnasium's `env.unwrapped.state`.
 */
export abstract class ClassicControlEnv<S extends Space> implements Env<S> {
  abstract readonly observationSpace: Box;
  abstract readonly actionSpace: S;
  /** Set by makeEnv; null for an env built with `new`. */
  spec: EnvSpec | null = null;
  /** The physical state; null before the first reset. */
  protected s: Float64Array | null = null;
  private rng: Rng | null = null;
  private phase: 'needs-reset' | 'running' | 'ended' = 'needs-reset';

  /** The state's size (4 for CartPole, 2 for Pendulum, …). */
  protected abstract readonly stateSize: number;

  get unwrapped(): Env<Space> {
    return this as unknown as Env<Space>;
  }

  /** The id in messages: the spec's id, else the class name. */
  get name(): string {
    return this.spec?.id ?? this.constructor.name;
  }

  /** A copy of the physical state (Gymnasium's `env.unwrapped.state`); null before the first reset. */
  get state(): Float64Array | null {
    return this.s ? Float64Array.from(this.s) : null;
  }

  /**
   * Puts the env in the given physical state, ready to step (what the fixture script does with
   * `env.unwrapped.state = …`). Returns the observation of that state.
   */
  setState(state: ArrayLike<number>): Float32Array {
    if (state.length !== this.stateSize)
      throw new ConfigError('state', `${this.name} has a state of ${this.stateSize} values, got ${state.length}`);
    this.s = Float64Array.from(state);
    if (!this.rng) this.rng = new Rng(entropySeed());
    this.phase = 'running';
    return this.observe(this.s);
  }

  reset(options: ResetOptions = {}): ResetResult {
    if (options.seed !== undefined) this.rng = new Rng(checkSeed(options.seed));
    else if (!this.rng) this.rng = new Rng(entropySeed());
    this.s = this.initialState(this.rng, options.options ?? {});
    this.phase = 'running';
    return { observation: this.observe(this.s), info: {} };
  }

  step(action: ActionOf<S>): StepResult {
    if (this.phase === 'needs-reset') throw new ResetNeededError(this.name, 'step() was called before reset()');
    if (this.phase === 'ended') throw new ResetNeededError(this.name, 'step() was called after the episode terminated');
    const a = checkAction(this.name, this.actionSpace, action);
    const t = this.transition(this.s as Float64Array, a);
    if (t.terminated) this.phase = 'ended';
    const info: Info = {};
    return { observation: t.observation, reward: t.reward, terminated: t.terminated, truncated: false, info };
  }

  close(): void {}

  /** Draws the initial state (reset noise as Gymnasium's distributions, from `rng`). */
  protected abstract initialState(rng: Rng, options: Record<string, unknown>): Float64Array;
  /** Advances `state` in place by one step of the checked action. */
  protected abstract transition(state: Float64Array, action: number | Float64Array): Transition;
  protected abstract observe(state: Float64Array): Float32Array;
}

/** U(low, high) from core's Rng (Gymnasium: `np_random.uniform(low, high)`, [low, high)). */
export function uniform(rng: Rng, low: number, high: number): number {
  return low + (high - low) * rng.uniform();
}

/**
 * Gymnasium's `maybe_parse_reset_bounds`: `{ low, high }` from reset options (each optional),
 * numbers with low <= high. Other keys are refused (ConfigError naming them).
 */
export function resetBounds(
  env: string,
  options: Record<string, unknown>,
  defaultLow: number,
  defaultHigh: number,
): [number, number] {
  const low = resetNumber(env, options, 'low', defaultLow, ['low', 'high']);
  const high = resetNumber(env, options, 'high', defaultHigh, ['low', 'high']);
  if (low > high) throw new ConfigError(`${env} reset options`, `low (${low}) must not exceed high (${high})`);
  return [low, high];
}

/** One finite number from reset options, its default when absent; unknown keys are refused. */
export function resetNumber(
  env: string,
  options: Record<string, unknown>,
  key: string,
  fallback: number,
  known: readonly string[],
): number {
  for (const k of Object.keys(options))
    if (!known.includes(k))
      throw new ConfigError(`${env} reset options.${k}`, `unknown option; this env takes ${known.join(', ')}`);
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ConfigError(`${env} reset options.${key}`, `must be a finite number, got ${String(v)}`);
  return v;
}

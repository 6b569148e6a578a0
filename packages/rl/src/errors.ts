import { HypernetsError } from '@hypernets/core';

const invalidAction = 'hypernets.error.InvalidActionError';
const invalidActionSymbol = Symbol.for(invalidAction);

/** An action an environment cannot take: wrong type or length, outside a Discrete range, NaN. */
export class InvalidActionError extends HypernetsError {
  private readonly [invalidActionSymbol] = true;
  override readonly name: string = 'InvalidActionError';

  constructor(
    /** The environment's id (or class name when it was built without the registry). */
    readonly env: string,
    readonly action: unknown,
    readonly reason: string,
  ) {
    super(`${env}: invalid action ${describe(action)}: ${reason}`);
  }

  /** True for an InvalidActionError from any copy of @hypernets/rl (`instanceof` is not, across copies). */
  static override isInstance(error: unknown): error is InvalidActionError {
    return HypernetsError.hasMarker(error, invalidAction);
  }
}

const resetNeeded = 'hypernets.error.ResetNeededError';
const resetNeededSymbol = Symbol.for(resetNeeded);

/** `step()` was called before the first `reset()`, or after the episode ended without a `reset()`. */
export class ResetNeededError extends HypernetsError {
  private readonly [resetNeededSymbol] = true;
  override readonly name: string = 'ResetNeededError';

  constructor(
    readonly env: string,
    readonly reason: string,
  ) {
    super(`${env}: ${reason}; call reset() first`);
  }

  /** True for a ResetNeededError from any copy of @hypernets/rl. */
  static override isInstance(error: unknown): error is ResetNeededError {
    return HypernetsError.hasMarker(error, resetNeeded);
  }
}

const unknownEnv = 'hypernets.error.UnknownEnvError';
const unknownEnvSymbol = Symbol.for(unknownEnv);

/** `makeEnv` was given an id it does not know; the message lists the ids it knows. */
export class UnknownEnvError extends HypernetsError {
  private readonly [unknownEnvSymbol] = true;
  override readonly name: string = 'UnknownEnvError';

  constructor(
    readonly id: string,
    readonly known: readonly string[],
  ) {
    super(`unknown environment id '${id}'; known ids: ${known.join(', ')}`);
  }

  /** True for an UnknownEnvError from any copy of @hypernets/rl. */
  static override isInstance(error: unknown): error is UnknownEnvError {
    return HypernetsError.hasMarker(error, unknownEnv);
  }
}

function describe(action: unknown): string {
  if (typeof action === 'number') return String(action);
  if (action !== null && typeof action === 'object' && 'length' in action) {
    const a = Array.from(action as ArrayLike<unknown>).slice(0, 8);
    const more = (action as ArrayLike<unknown>).length > 8 ? ', …' : '';
    return `[${a.map(String).join(', ')}${more}]`;
  }
  return action === undefined ? 'undefined' : (JSON.stringify(action) ?? String(action));
}

const mujocoUnavailable = 'hypernets.error.MujocoUnavailableError';
const mujocoUnavailableSymbol = Symbol.for(mujocoUnavailable);

/**
 * A MuJoCo env was asked for without the physics: the optional dependency `@mujoco/mujoco` is not
 * installed, failed to load, or `loadMujoco()` was not awaited before `makeEnv`.
 */
export class MujocoUnavailableError extends HypernetsError {
  private readonly [mujocoUnavailableSymbol] = true;
  override readonly name: string = 'MujocoUnavailableError';

  constructor(
    readonly env: string,
    readonly reason: string,
  ) {
    super(`${env}: ${reason}`);
  }

  /** True for a MujocoUnavailableError from any copy of @hypernets/rl. */
  static override isInstance(error: unknown): error is MujocoUnavailableError {
    return HypernetsError.hasMarker(error, mujocoUnavailable);
  }
}

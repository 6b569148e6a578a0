const name = 'HypernetsError';
const marker = 'hypernets.error';
const symbol = Symbol.for(marker);

/**
 * The base of every error the hypernets packages throw. Every message names the thing that was
 * wrong (a ParamSpec entry, a file, a backend) and says what to do about it; an error that wraps
 * another passes it as `cause` (`new CheckpointError(file, detail, { cause: e })`).
 *
 * Test with `HypernetsError.isInstance(e)` (or `ShapeMismatchError.isInstance(e)`, …), not
 * `instanceof`: two copies of a package in one process (a bundler, or npm installing it twice)
 * make two classes of the same name, and `instanceof` is false across them. `isInstance` checks
 * a `Symbol.for` marker that both copies set, one for the base and one per class.
 */
export class HypernetsError extends Error {
  private readonly [symbol] = true;
  // A field, not `new.target.name`: minifiers rename classes.
  override readonly name: string = name;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }

  /** True for an error of any hypernets package (and any copy of it). */
  static isInstance(error: unknown): error is HypernetsError {
    return HypernetsError.hasMarker(error, marker);
  }

  /** True when `error` carries the `Symbol.for(marker)` flag that the class named by `marker` sets. */
  protected static hasMarker(error: unknown, marker: string): boolean {
    const s = Symbol.for(marker);
    return error != null && typeof error === 'object' && s in error && (error as Record<symbol, unknown>)[s] === true;
  }
}

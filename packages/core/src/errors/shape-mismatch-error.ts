import { HypernetsError } from './hypernets-error.js';

const name = 'ShapeMismatchError';
const marker = `hypernets.error.${name}`;
const symbol = Symbol.for(marker);

/** A tensor's shape differs from what a ParamSpec entry (or an op) requires. */
export class ShapeMismatchError extends HypernetsError {
  private readonly [symbol] = true;
  override readonly name: string = name;

  constructor(
    readonly what: string,
    readonly expected: readonly number[],
    readonly found: readonly number[],
    hint = '',
    options?: ErrorOptions,
  ) {
    super(
      `shape mismatch for ${what}: expected [${expected.join(', ')}], found [${found.join(', ')}]` +
        (hint ? `. ${hint}` : ''),
      options,
    );
  }

  static override isInstance(error: unknown): error is ShapeMismatchError {
    return HypernetsError.hasMarker(error, marker);
  }
}

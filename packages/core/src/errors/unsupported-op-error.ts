import { HypernetsError } from './hypernets-error.js';

const name = 'UnsupportedOpError';
const marker = `hypernets.error.${name}`;
const symbol = Symbol.for(marker);

/** An op that a backend cannot run for these arguments (it would fail or give wrong values there). */
export class UnsupportedOpError extends HypernetsError {
  private readonly [symbol] = true;
  override readonly name: string = name;

  constructor(
    readonly op: string,
    readonly backend: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`${op} is not supported on backend '${backend}': ${detail}`, options);
  }

  static override isInstance(error: unknown): error is UnsupportedOpError {
    return HypernetsError.hasMarker(error, marker);
  }
}

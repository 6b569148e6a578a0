import { HypernetsError } from '@hypernets/core';

const name = 'BackboneError';
const marker = `hypernets.error.${name}`;
const symbol = Symbol.for(marker);

/**
 * The pretrained backbone's files are missing, of another version, or not what the rebuilt
 * encoder expects; `file` names the file (or package), the message says what to do.
 */
export class BackboneError extends HypernetsError {
  private readonly [symbol] = true;
  override readonly name: string = name;

  constructor(
    readonly file: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${reason}`, options);
  }

  /** True for a BackboneError from any copy of @hypernets/adapters (`instanceof` is not, across copies). */
  static override isInstance(error: unknown): error is BackboneError {
    return HypernetsError.hasMarker(error, marker);
  }
}

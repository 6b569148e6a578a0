import { HypernetsError } from '@hypernets/core';

const name = 'DatasetError';
const marker = `hypernets.error.${name}`;
const symbol = Symbol.for(marker);

/** A data file is missing, unreadable or not what its name says; `file` names it. */
export class DatasetError extends HypernetsError {
  private readonly [symbol] = true;
  override readonly name: string = name;

  constructor(
    readonly file: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`${file}: ${reason}`, options);
  }

  /** True for a DatasetError from any copy of @hypernets/data (`instanceof` is not, across copies). */
  static override isInstance(error: unknown): error is DatasetError {
    return HypernetsError.hasMarker(error, marker);
  }
}

import { HypernetsError } from './hypernets-error.js';

const name = 'ConfigError';
const marker = `hypernets.error.${name}`;
const symbol = Symbol.for(marker);

/** A configuration value is invalid. */
export class ConfigError extends HypernetsError {
  private readonly [symbol] = true;
  override readonly name: string = name;

  constructor(
    readonly field: string,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`invalid config '${field}': ${detail}`, options);
  }

  static override isInstance(error: unknown): error is ConfigError {
    return HypernetsError.hasMarker(error, marker);
  }
}

import { CheckpointError } from './checkpoint-error.js';
import { HypernetsError } from './hypernets-error.js';

const name = 'CheckpointConfigError';
const marker = `hypernets.error.${name}`;
const symbol = Symbol.for(marker);

/** A checkpoint was written with another run configuration (`have`) than this run's (`want`). */
export class CheckpointConfigError extends CheckpointError {
  private readonly [symbol] = true;
  override readonly name: string = name;

  constructor(
    file: string,
    detail: string,
    readonly have: unknown,
    readonly want: unknown,
    options?: ErrorOptions,
  ) {
    super(file, detail, options);
  }

  static override isInstance(error: unknown): error is CheckpointConfigError {
    return HypernetsError.hasMarker(error, marker);
  }
}

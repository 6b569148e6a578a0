import { HypernetsError } from './hypernets-error.js';

const name = 'CheckpointError';
const marker = `hypernets.error.${name}`;
const symbol = Symbol.for(marker);

/** A checkpoint file is missing, corrupt, or does not match what it is loaded into. */
export class CheckpointError extends HypernetsError {
  private readonly [symbol] = true;
  override readonly name: string = name;

  constructor(
    readonly file: string,
    /** The message without its `checkpoint <file>: ` prefix. */
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`checkpoint ${file}: ${detail}`, options);
  }

  static override isInstance(error: unknown): error is CheckpointError {
    return HypernetsError.hasMarker(error, marker);
  }
}

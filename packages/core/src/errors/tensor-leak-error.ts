import { HypernetsError } from './hypernets-error.js';

const name = 'TensorLeakError';
const marker = `hypernets.error.${name}`;
const symbol = Symbol.for(marker);

/** The number of live tensors grew across steps (`assertNoLeaks`); `counts` has one entry per step. */
export class TensorLeakError extends HypernetsError {
  private readonly [symbol] = true;
  override readonly name: string = name;

  constructor(
    readonly label: string,
    readonly counts: number[],
  ) {
    super(
      `${label}: tensor count grew across steps (${counts.join(' → ')}); wrap intermediate tensors in tf.tidy or dispose them`,
    );
  }

  static override isInstance(error: unknown): error is TensorLeakError {
    return HypernetsError.hasMarker(error, marker);
  }
}

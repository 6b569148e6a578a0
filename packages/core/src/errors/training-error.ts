import { HypernetsError } from './hypernets-error.js';

const name = 'TrainingError';
const marker = `hypernets.error.${name}`;
const symbol = Symbol.for(marker);

/** Training cannot go on: e.g. the loss or its gradients were not finite more often than allowed. */
export class TrainingError extends HypernetsError {
  private readonly [symbol] = true;
  override readonly name: string = name;

  static override isInstance(error: unknown): error is TrainingError {
    return HypernetsError.hasMarker(error, marker);
  }
}

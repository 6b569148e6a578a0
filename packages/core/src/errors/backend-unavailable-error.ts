import { HypernetsError } from './hypernets-error.js';

const name = 'BackendUnavailableError';
const marker = `hypernets.error.${name}`;
const symbol = Symbol.for(marker);

/** A backend cannot start here; `next` names the backend `auto` would try next. */
export class BackendUnavailableError extends HypernetsError {
  private readonly [symbol] = true;
  override readonly name: string = name;

  constructor(
    readonly backend: string,
    readonly reason: string,
    readonly next?: string,
    options?: ErrorOptions,
  ) {
    super(`backend '${backend}' is unavailable: ${reason}` + (next ? ` (next choice: '${next}')` : ''), options);
  }

  static override isInstance(error: unknown): error is BackendUnavailableError {
    return HypernetsError.hasMarker(error, marker);
  }
}

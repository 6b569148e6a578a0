import { HypernetsError } from '@hypernets/core';

/** A data file is missing, unreadable or not what its name says; `file` names it. */
export class DatasetError extends HypernetsError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

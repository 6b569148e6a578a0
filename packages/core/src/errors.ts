/**
 * Typed errors. Every message names the thing that was wrong (a ParamSpec entry, a file,
 * a backend) and says what to do about it.
 */
export class HypernetsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A tensor's shape differs from what a ParamSpec entry (or an op) requires. */
export class ShapeMismatchError extends HypernetsError {
  constructor(
    readonly what: string,
    readonly expected: readonly number[],
    readonly found: readonly number[],
    hint = '',
  ) {
    super(
      `shape mismatch for ${what}: expected [${expected.join(', ')}], found [${found.join(', ')}]` +
        (hint ? `. ${hint}` : ''),
    );
  }
}

/** A backend cannot start here; `next` names the backend `auto` would try next. */
export class BackendUnavailableError extends HypernetsError {
  constructor(
    readonly backend: string,
    readonly reason: string,
    readonly next?: string,
  ) {
    super(
      `backend '${backend}' is unavailable: ${reason}` +
        (next ? ` (next choice: '${next}')` : ''),
    );
  }
}

/** An op that a backend cannot run for these arguments (it would fail or give wrong values there). */
export class UnsupportedOpError extends HypernetsError {
  constructor(
    readonly op: string,
    readonly backend: string,
    detail: string,
  ) {
    super(`${op} is not supported on backend '${backend}': ${detail}`);
  }
}

/** A checkpoint file is missing, corrupt, or does not match what it is loaded into. */
export class CheckpointError extends HypernetsError {
  constructor(
    readonly file: string,
    /** The message without its `checkpoint <file>: ` prefix. */
    readonly detail: string,
  ) {
    super(`checkpoint ${file}: ${detail}`);
  }
}

/** A checkpoint was written with another run configuration (`have`) than this run's (`want`). */
export class CheckpointConfigError extends CheckpointError {
  constructor(
    file: string,
    detail: string,
    readonly have: unknown,
    readonly want: unknown,
  ) {
    super(file, detail);
  }
}

/** A configuration value is invalid. */
export class ConfigError extends HypernetsError {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`invalid config '${field}': ${detail}`);
  }
}

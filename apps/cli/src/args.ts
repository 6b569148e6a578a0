import { InvalidArgumentError } from 'commander';

/**
 * Strict number arguments. `Number()` takes '0x10' (16), '1e20', ' 5 ', 'Infinity' and '' (0):
 * a command line gets none of that. Integers are plain decimal digits that fit a safe integer;
 * floats are decimals with an optional exponent (1e-3). Ranges are checked by the schemas
 * (options.ts), which name the flag and the bound.
 */
const INT = /^\d+$/;
const FLOAT = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A non-negative integer in plain decimal digits (e.g. 250), no larger than Number.MAX_SAFE_INTEGER. */
export function parseIntArg(flag: string, v: string): number {
  const n = INT.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`${flag} takes a whole number in decimal digits (e.g. 250), got '${v}'`);
  return n;
}

/** A finite decimal number (e.g. 0.01, 1e-3). */
export function parseFloatArg(flag: string, v: string): number {
  const n = FLOAT.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`${flag} takes a decimal number (e.g. 0.01 or 1e-3), got '${v}'`);
  return n;
}

export const intArg = (flag: string) => (v: string) => parseIntArg(flag, v);
export const floatArg = (flag: string) => (v: string) => parseFloatArg(flag, v);

/** Comma-separated whole numbers (e.g. 400,400). */
export const intListArg = (flag: string) => (v: string) => {
  const parts = v.split(',').map((s) => s.trim());
  if (parts.length === 0 || parts.some((s) => !INT.test(s) || !Number.isSafeInteger(Number(s))))
    throw new InvalidArgumentError(`${flag} takes comma-separated whole numbers (e.g. 400,400), got '${v}'`);
  return parts.map(Number);
};

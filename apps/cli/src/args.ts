import { InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';

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
  if (!Number.isSafeInteger(n))
    throw new InvalidArgumentError(`${flag} takes a whole number in decimal digits (e.g. 250), got '${v}'`);
  return n;
}

/** A finite decimal number (e.g. 0.01, 1e-3). */
export function parseFloatArg(flag: string, v: string): number {
  const n = FLOAT.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n))
    throw new InvalidArgumentError(`${flag} takes a decimal number (e.g. 0.01 or 1e-3), got '${v}'`);
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

/** `--flag <n>` taking a whole number (parseIntArg): the flag is spelled once. */
export const intOption = (flag: string, description: string, placeholder = 'n') =>
  new Option(`${flag} <${placeholder}>`, description).argParser(intArg(flag));
/** `--flag <x>` taking a decimal number (parseFloatArg). */
export const floatOption = (flag: string, description: string, placeholder = 'x') =>
  new Option(`${flag} <${placeholder}>`, description).argParser(floatArg(flag));
/** `--flag <widths>` taking comma-separated whole numbers (intListArg). */
export const intListOption = (flag: string, description: string, placeholder = 'widths') =>
  new Option(`${flag} <${placeholder}>`, description).argParser(intListArg(flag));

/** `--name <name>` taking one of `values` (`--backend <name>`). */
export function choice(name: string, values: readonly string[], description: string): Option {
  return new Option(`--${name} <${name === 'backend' ? 'name' : name}>`, description).choices(values as string[]);
}

/**
 * Schemas of the options' ranges (options.ts files): a config file's numbers reach them unparsed,
 * so each names its bound. A whole number in [min, max].
 */
export const intSchema = (min: number, max: number) =>
  z
    .number({ invalid_type_error: 'must be a number' })
    .int('must be a whole number')
    .min(min, `must be at least ${min}`)
    .max(max, `must be at most ${max.toLocaleString('en-US')}`);
/** A finite number in [min, max] (in (min, max] with `above`). */
export const realSchema = (min: number, max: number, { above = false } = {}) =>
  z
    .number({ invalid_type_error: 'must be a number' })
    .finite('must be finite')
    .refine((x) => (above ? x > min : x >= min), above ? `must be greater than ${min}` : `must be at least ${min}`)
    .refine((x) => x <= max, `must be at most ${max}`);

import type { Tensor } from '@tensorflow/tfjs-core';
import { ShapeMismatchError, ConfigError } from './errors/index.js';

/** What role a tensor plays; decides its initialiser and how hypernetworks decode it. */
export type ParamKind = 'weight' | 'bias' | 'norm-scale' | 'norm-shift' | 'embedding' | 'recurrent-weight' | 'other';

/**
 * The one contract between a hypernetwork and what it generates: one entry per tensor, in
 * a fixed order. `fanIn`/`fanOut` are the receptive fields an initialiser needs (for a
 * conv kernel [kh, kw, cin, cout]: fanIn = kh·kw·cin, fanOut = kh·kw·cout).
 */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly kind: ParamKind;
  /** Index of the layer this tensor belongs to (0-based, in forward order). */
  readonly layer: number;
  readonly fanIn: number;
  readonly fanOut: number;
  /** Activation that follows the layer, when known (used by fan-based inits). */
  readonly activation?: string;
}

/** Weights for a ParamSpec list, by name. */
export type Weights = Record<string, Tensor>;

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Total number of scalars in a ParamSpec list. */
export function countParams(specs: readonly ParamSpec[]): number {
  let n = 0;
  for (const s of specs) n += numel(s.shape);
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export interface CheckWeightsOptions {
  /**
   * Allow shared and per-sample weights side by side (each tensor independently; one B for all
   * per-sample ones), as a net whose layers run per-sample only where their weights are.
   * Default false: all shared or all batched.
   */
  mixed?: boolean;
}

/**
 * Checks that `weights` holds one tensor per spec, either with the spec's shape (shared
 * weights) or with one leading batch dimension (per-sample weights). Returns the batch size,
 * or null for shared weights. Mixed layouts are rejected (all shared or all batched) unless
 * `options.mixed`; then the batch is that of the per-sample weights, null if there are none.
 */
export function checkWeights(
  specs: readonly ParamSpec[],
  weights: Weights,
  owner = 'target network',
  options: CheckWeightsOptions = {},
): number | null {
  const mixed = options.mixed === true;
  const mixedHint =
    'pass the spec shape, or [B, ...spec shape] for per-sample weights (one B for all per-sample weights)';
  let batch: number | null | undefined;
  for (const s of specs) {
    const w = weights[s.name];
    if (w === undefined) {
      throw new ConfigError(
        `weights.${s.name}`,
        `${owner} needs a tensor for ParamSpec '${s.name}' of shape [${s.shape.join(', ')}]; none was given`,
      );
    }
    let b: number | null;
    if (sameShape(w.shape, s.shape)) b = null;
    else if (w.rank === s.shape.length + 1 && sameShape(w.shape.slice(1), s.shape)) b = w.shape[0];
    else
      throw new ShapeMismatchError(
        `ParamSpec '${s.name}' of ${owner}`,
        mixed && batch != null ? [batch, ...s.shape] : s.shape,
        w.shape,
        mixed ? mixedHint : 'pass the spec shape, or [B, ...spec shape] for per-sample weights',
      );
    if (mixed) {
      if (b === null) continue;
      if (batch != null && b !== batch)
        throw new ShapeMismatchError(`ParamSpec '${s.name}' of ${owner}`, [batch, ...s.shape], w.shape, mixedHint);
      batch = b;
    } else if (batch === undefined) batch = b;
    else if (batch !== b)
      throw new ShapeMismatchError(
        `ParamSpec '${s.name}' of ${owner} (batch layout)`,
        batch === null ? s.shape : [batch, ...s.shape],
        w.shape,
        'either every weight carries the same leading batch dimension or none does',
      );
  }
  return batch ?? null;
}

/** Builds a ParamSpec with validated fields. */
export function paramSpec(spec: ParamSpec): ParamSpec {
  if (!spec.name) throw new ConfigError('name', 'a ParamSpec needs a non-empty name');
  if (spec.shape.some((d) => !Number.isInteger(d) || d <= 0))
    throw new ConfigError(`${spec.name}.shape`, `dimensions must be positive integers, got [${spec.shape.join(', ')}]`);
  return Object.freeze({ ...spec, shape: Object.freeze([...spec.shape]) });
}

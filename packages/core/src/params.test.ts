import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { checkWeights, countParams, paramSpec, type ParamSpec } from './params.js';
import { ConfigError, ShapeMismatchError } from './errors/index.js';

const specs: ParamSpec[] = [
  paramSpec({ name: 'fc.weight', shape: [3, 2], kind: 'weight', layer: 0, fanIn: 3, fanOut: 2 }),
  paramSpec({ name: 'fc.bias', shape: [2], kind: 'bias', layer: 0, fanIn: 3, fanOut: 2 }),
];

describe('ParamSpec', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('counts parameters', () => {
    expect(countParams(specs)).toBe(8);
  });

  it('rejects bad shapes when building a spec', () => {
    expect(() => paramSpec({ name: 'x', shape: [0, 2], kind: 'weight', layer: 0, fanIn: 1, fanOut: 1 })).toThrow(
      ConfigError,
    );
  });

  it('accepts shared and per-sample weights and reports the batch', () => {
    const shared = { 'fc.weight': tf.zeros([3, 2]), 'fc.bias': tf.zeros([2]) };
    expect(checkWeights(specs, shared)).toBeNull();
    const batched = { 'fc.weight': tf.zeros([5, 3, 2]), 'fc.bias': tf.zeros([5, 2]) };
    expect(checkWeights(specs, batched)).toBe(5);
    tf.dispose([...Object.values(shared), ...Object.values(batched)]);
  });

  it('names the spec entry and both shapes on a mismatch', () => {
    const bad = { 'fc.weight': tf.zeros([2, 3]), 'fc.bias': tf.zeros([2]) };
    expect(() => checkWeights(specs, bad)).toThrow(ShapeMismatchError);
    expect(() => checkWeights(specs, bad)).toThrow(/fc\.weight.*expected \[3, 2\], found \[2, 3\]/);
    tf.dispose(Object.values(bad));
  });

  it('rejects a missing tensor and mixed batch layouts', () => {
    const missing = { 'fc.weight': tf.zeros([3, 2]) };
    expect(() => checkWeights(specs, missing)).toThrow(/fc\.bias/);
    const mixed = { 'fc.weight': tf.zeros([4, 3, 2]), 'fc.bias': tf.zeros([2]) };
    expect(() => checkWeights(specs, mixed)).toThrow(/batch layout/);
    tf.dispose([...Object.values(missing), ...Object.values(mixed)]);
  });

  it('with { mixed: true } takes shared and per-sample weights side by side, one B for all per-sample ones', () => {
    const mixed = { 'fc.weight': tf.zeros([4, 3, 2]), 'fc.bias': tf.zeros([2]) };
    expect(checkWeights(specs, mixed, 'net', { mixed: true })).toBe(4);
    const shared = { 'fc.weight': tf.zeros([3, 2]), 'fc.bias': tf.zeros([2]) };
    expect(checkWeights(specs, shared, 'net', { mixed: true })).toBeNull();
    const twoBatches = { 'fc.weight': tf.zeros([4, 3, 2]), 'fc.bias': tf.zeros([5, 2]) };
    expect(() => checkWeights(specs, twoBatches, 'net', { mixed: true })).toThrow(
      /fc\.bias.*expected \[4, 2\], found \[5, 2\]/,
    );
    expect(() => checkWeights(specs, { 'fc.weight': tf.zeros([3, 2]) }, 'net', { mixed: true })).toThrow(ConfigError);
    tf.dispose([...Object.values(mixed), ...Object.values(shared), ...Object.values(twoBatches)]);
  });
});

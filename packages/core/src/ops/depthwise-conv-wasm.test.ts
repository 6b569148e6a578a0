// The depthwise conv's own gradient (stride 1) on wasm, where tfjs's backprop kernels are core's JS ones.
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../random.js';
import { initBackend } from '../backend/index.js';
import { gradientGap } from '../testing/ops.js';

beforeAll(async () => {
  await initBackend('wasm');
});

describe('depthwiseConv2dTorch on wasm', () => {
  it("has the gradients of tfjs's depthwise conv (stride 1: ours, stride 2: tfjs's)", () => {
    const rng = new Rng(5);
    expect(gradientGap(rng, [3, 10, 10, 6], 5, 1, 2)).toBeLessThan(1e-5);
    expect(gradientGap(rng, [3, 10, 10, 6], 3, 1, 1)).toBeLessThan(1e-5);
    expect(gradientGap(rng, [3, 10, 10, 6], 3, 2, 1)).toBeLessThan(1e-5);
  });
});

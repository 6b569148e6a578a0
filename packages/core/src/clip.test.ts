import { beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { clipByGlobalNorm } from './clip.js';
import { useCpu } from './testing/nets.js';

beforeAll(useCpu);

it('scales every gradient by maxNorm / (norm + 1e-6) above the bound, as clip_grad_norm_', () => {
  const g = [tf.tensor1d([3, 0]), null, tf.tensor2d([[0, 4]])]; // global norm 5
  const { grads, norm } = clipByGlobalNorm(g, 1);
  expect(norm.dataSync()[0]).toBeCloseTo(5, 6);
  expect(grads[1]).toBeNull();
  expect(Array.from(grads[0]!.dataSync())).toEqual([expect.closeTo(3 / (5 + 1e-6), 6), 0]);
  expect(Array.from(grads[2]!.dataSync())).toEqual([0, expect.closeTo(4 / (5 + 1e-6), 6)]);
  const loose = clipByGlobalNorm(g, 10);
  expect(Array.from(loose.grads[0]!.dataSync())).toEqual([3, 0]);
  tf.dispose([...g.filter((t) => t !== null), ...grads.filter((t) => t !== null), norm]);
  tf.dispose([...loose.grads.filter((t) => t !== null), loose.norm]);
});

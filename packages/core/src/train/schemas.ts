import { z } from 'zod';
import { arrayOf, intArray } from '../io/bounded-json.js';

/**
 * Pieces of the schemas trainers validate their checkpointed progress with. Arrays are bounded
 * (they stop at the first bad element: a hostile file's million-entry curve makes one issue).
 */
export const boundedArray = arrayOf;

/** `Rng.getState()`. */
export const rngStateSchema = intArray({ min: 1 });

/** A BatchSampler's `getState()` (@hypernets/data's SamplerState). */
export const samplerStateSchema = z.object({
  epochRng: intArray({ min: 1 }),
  epoch: z.number().int().nonnegative(),
  position: z.number().int().nonnegative(),
});

import { ConfigError, type Rng } from '@hypernets/core';

/**
 * The values of torch.nn.init.orthogonal_(W, gain) for a torch Linear weight W [out, in], laid
 * out as tfjs's `linear` takes it, [in, out] (row-major): a Gaussian matrix, made tall, reduced
 * to Q of its QR decomposition with R's diagonal positive (torch multiplies Q by sign(diag R); a
 * Gram–Schmidt QR has that sign already), transposed back where it was made tall, times `gain`.
 * So for out ≥ in the rows of the result are orthonormal (W Wᵀ = gain² I_in), for out < in its
 * columns are (Wᵀ W = gain² I_out). Computed in float64 on host arrays (no tensor read back).
 */
export function orthogonalArray(inSize: number, outSize: number, rng: Rng, gain = 1): Float32Array {
  if (!Number.isInteger(inSize) || inSize < 1 || !Number.isInteger(outSize) || outSize < 1)
    throw new ConfigError('orthogonal shape', `needs positive integer sizes, got [${inSize}, ${outSize}]`);
  if (!Number.isFinite(gain)) throw new ConfigError('gain', `must be a finite number, got ${gain}`);
  // torch: rows = out, cols = in; Q of the tall matrix [max, min] (columns orthonormal).
  const rows = Math.max(inSize, outSize);
  const cols = Math.min(inSize, outSize);
  const g = rng.normalArray([rows, cols]);
  // Column-major float64 copy: column j is a[j * rows … (j + 1) * rows).
  const a = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[c * rows + r] = g[r * cols + c]!;
  // Modified Gram–Schmidt, twice per column (re-orthogonalisation keeps Q orthonormal to ~1e-15).
  for (let j = 0; j < cols; j++) {
    const vj = j * rows;
    for (let pass = 0; pass < 2; pass++)
      for (let k = 0; k < j; k++) {
        const vk = k * rows;
        let dot = 0;
        for (let r = 0; r < rows; r++) dot += a[vk + r]! * a[vj + r]!;
        for (let r = 0; r < rows; r++) a[vj + r]! -= dot * a[vk + r]!;
      }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += a[vj + r]! * a[vj + r]!;
    norm = Math.sqrt(norm);
    // invariant: a Gaussian column lies in the span of the previous ones with probability 0.
    if (!(norm > 1e-12)) throw new Error('orthogonal init: a Gaussian column was linearly dependent');
    for (let r = 0; r < rows; r++) a[vj + r]! /= norm;
  }
  // Q is [rows, cols]. torch's W [out, in] is Q when out ≥ in, Qᵀ otherwise; ours is Wᵀ [in, out].
  const out = new Float32Array(inSize * outSize);
  for (let i = 0; i < inSize; i++)
    for (let o = 0; o < outSize; o++) {
      // W[o][i] = out ≥ in ? Q[o][i] : Q[i][o]
      const q = outSize >= inSize ? a[i * rows + o]! : a[o * rows + i]!;
      out[i * outSize + o] = gain * q;
    }
  return out;
}

/**
 * GHN-2's shape vocabularies (ppuda/ghn/layers.py, ShapeEncoder): a tensor shape, made 4-D
 * (out, in, h, w), is encoded by four embedding rows — two from a channel vocabulary, two from
 * a spatial one. Sizes outside the vocabularies map to the nearest entry (ties to the smaller),
 * 4–7 channels to 8, spatial 2 to 3, and anything beyond the largest entry to the largest.
 * Nodes without a shape use the extra last row of each table.
 */
export interface ShapeVocab {
  readonly channels: readonly number[];
  readonly spatial: readonly number[];
}

const CH_STEPS = [2 ** 3, 2 ** 6, 2 ** 12, 2 ** 13] as const;

export function shapeVocab(numClasses: number, maxSpatial: number): ShapeVocab {
  const ch = new Set<number>([1, 3, numClasses]);
  for (let c = CH_STEPS[0]; c < CH_STEPS[1]; c += 8) ch.add(c);
  for (let c = CH_STEPS[1]; c < CH_STEPS[2]; c += 16) ch.add(c);
  for (let c = CH_STEPS[2]; c <= CH_STEPS[3]; c += 32) ch.add(c);
  const sp = new Set<number>([14, 16]);
  for (let s = 1; s < Math.max(12, maxSpatial); s += 2) sp.add(s);
  return { channels: [...ch].sort((a, b) => a - b), spatial: [...sp].sort((a, b) => a - b) };
}

function nearest(vocab: readonly number[], c: number): number {
  let best = 0;
  for (let i = 1; i < vocab.length; i++) if (Math.abs(vocab[i]! - c) < Math.abs(vocab[best]! - c)) best = i;
  return best;
}

/** Row of the channel table for `c` channels. */
export function channelIndex(vocab: ShapeVocab, c: number): number {
  const v = vocab.channels;
  if (c >= 4 && c < CH_STEPS[0]) return v.indexOf(CH_STEPS[0]); // before exact matches, as ppuda overrides them
  const exact = v.indexOf(c);
  if (exact >= 0) return exact;
  if (c >= 1 && c < v[v.length - 1]!) return nearest(v, c);
  return v.length - 1;
}

/** Row of the spatial table for a kernel size `s`. */
export function spatialIndex(vocab: ShapeVocab, s: number): number {
  const v = vocab.spatial;
  const exact = v.indexOf(s);
  if (exact >= 0) return exact;
  if (s === 2) return v.indexOf(3);
  if (s >= 1 && s < v[v.length - 1]!) return nearest(v, s);
  return v.length - 1;
}

/** A PyTorch-layout shape as (out, in, h, w), as ppuda's tensor_shape_to_4d does. */
export function shapeTo4d(sz: readonly number[]): [number, number, number, number] {
  if (sz.length === 1) return [sz[0]!, 1, 1, 1];
  if (sz.length === 2) return [sz[0]!, sz[1]!, 1, 1];
  if (sz.length === 3) {
    if (sz[0] === 1 && Math.min(sz[1]!, sz[2]!) > 1) {
      const s = Math.floor(Math.sqrt(sz[1]!));
      return [1, sz[2]!, s, s];
    }
    return [sz[0]!, sz[1]!, sz[2]!, 1];
  }
  return [sz[0]!, sz[1]!, sz[2]!, sz[3]!];
}

/** The four embedding rows of each node ([N, 4], row-major); shapeless nodes get the extra rows. */
export function shapeIndices(vocab: ShapeVocab, shapes: readonly (readonly number[] | null)[]): Int32Array {
  const out = new Int32Array(shapes.length * 4);
  const nc = vocab.channels.length;
  const ns = vocab.spatial.length;
  shapes.forEach((sz, i) => {
    if (sz === null) {
      out.set([nc, nc, ns, ns], i * 4);
      return;
    }
    const [o, c, h, w] = shapeTo4d(sz);
    out.set([channelIndex(vocab, o), channelIndex(vocab, c), spatialIndex(vocab, h), spatialIndex(vocab, w)], i * 4);
  });
  return out;
}

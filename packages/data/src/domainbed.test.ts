import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ConfigError, Rng } from '@hypernets/core';
import {
  DOMAINBED_DATASETS,
  domainBedFromMnist,
  holdoutSplit,
  loadDomainBed,
  loadMnist,
  rotateBilinear,
  type DomainBedData,
  type ImageSet,
  type Mnist,
} from './index.js';

// Written by scripts/domainbed-fixture.py: Pillow's Image.rotate(angle, BILINEAR, fillcolor=0),
// which the script also checked against DomainBed's torchvision transform.
interface RotateFixture {
  pillow: string;
  torchvisionCasesAgreeing: number;
  size: number;
  sources: Record<string, string>;
  cases: { source: string; angle: number; rotated: string }[];
}
const fixture = JSON.parse(
  readFileSync(new URL('./fixtures/domainbed-rotate.json', import.meta.url), 'utf8'),
) as RotateFixture;
const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));

const PIXELS = 784;
let mnist: Mnist;

beforeAll(async () => {
  mnist = await loadMnist();
});

/** Digit and bytes of image k of MNIST's train images followed by its test images. */
function original(k: number): { digit: number; image: Uint8Array } {
  const [set, i] = k < mnist.train.count ? [mnist.train, k] : [mnist.test, k - mnist.train.count];
  return { digit: set.labels[i]!, image: set.images.subarray(i * PIXELS, (i + 1) * PIXELS) };
}

/** Every one of the 70,000 images in exactly one environment. */
function expectPartition(data: DomainBedData): void {
  const seen = new Uint8Array(70_000);
  for (const env of data.environments) for (const k of env.indices) seen[k]!++;
  expect(seen.every((c) => c === 1)).toBe(true);
}

describe('rotateBilinear', () => {
  it('matches Pillow byte for byte (13 angles × 6 images, uint8 truncation included)', () => {
    expect(fixture.cases.length).toBe(78);
    expect(fixture.torchvisionCasesAgreeing).toBe(78);
    let maxDiff = 0;
    for (const c of fixture.cases) {
      const got = rotateBilinear(bytes(fixture.sources[c.source]!), fixture.size, c.angle);
      const want = bytes(c.rotated);
      for (let p = 0; p < got.length; p++) maxDiff = Math.max(maxDiff, Math.abs(got[p]! - want[p]!) / 255);
    }
    expect(maxDiff).toBe(0); // the brief allows 1/255; the port is exact
  });

  it('rotates counter-clockwise: a pixel right of the centre goes up at 90°, left at 180°', () => {
    const src = new Uint8Array(28 * 28);
    src[14 * 28 + 20] = 255; // row 14, column 20
    const at = (img: Uint8Array) => {
      const p = img.indexOf(255);
      return [p % 28, Math.floor(p / 28)];
    };
    expect(at(rotateBilinear(src, 28, 90))).toEqual([14, 7]);
    expect(at(rotateBilinear(src, 28, 180))).toEqual([7, 13]);
    expect(at(rotateBilinear(src, 28, -90))).toEqual([13, 20]);
  });

  it('refuses bad arguments with ConfigError', () => {
    expect(() => rotateBilinear(new Uint8Array(10), 28, 15)).toThrow(ConfigError);
    expect(() => rotateBilinear(new Uint8Array(4), 0, 15)).toThrow(ConfigError);
    expect(() => rotateBilinear(new Uint8Array(4), 2, Number.NaN)).toThrow(ConfigError);
  });
});

/**
 * A rotation written independently of the library's (continuous coordinates, bilinear with
 * zeros outside, no Pillow details): counter-clockwise by `deg` about the image centre.
 */
function naiveRotate(src: Uint8Array, deg: number): Float32Array {
  const out = new Float32Array(PIXELS);
  const t = (deg * Math.PI) / 180;
  const [cos, sin] = [Math.cos(t), Math.sin(t)];
  const at = (x: number, y: number) => (x < 0 || y < 0 || x > 27 || y > 27 ? 0 : src[y * 28 + x]!);
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) {
      const [u, v] = [x - 13.5, y - 13.5];
      const sx = cos * u - sin * v + 13.5;
      const sy = sin * u + cos * v + 13.5;
      const [x0, y0] = [Math.floor(sx), Math.floor(sy)];
      const [fx, fy] = [sx - x0, sy - y0];
      out[y * 28 + x] =
        ((1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
          fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1))) /
        255;
    }
  return out;
}

describe('RotatedMNIST', () => {
  let data: DomainBedData | undefined;
  const rm = () => data!;
  beforeAll(async () => {
    data = await loadDomainBed('rotated-mnist', { mnist });
  }, 120_000);
  afterAll(() => {
    data = undefined; // 220 MB
  });

  it('six environments of 11,667 ×4 and 11,666 ×2, NHWC 28×28×1, 10 classes, every image once', () => {
    const d = rm();
    expect(d.environments.map((e) => e.name)).toEqual(['0', '15', '30', '45', '60', '75']);
    expect(d.environments.map((e) => e.count)).toEqual([11667, 11667, 11667, 11667, 11666, 11666]);
    expect(d.inputShape).toEqual([28, 28, 1]);
    expect(d.numClasses).toBe(10);
    expect(d.seed).toBe(0);
    for (const e of d.environments) {
      expect(e.images.length).toBe(e.count * PIXELS);
      expect(e.labels.length).toBe(e.count);
      expect(e.indices.length).toBe(e.count);
    }
    expectPartition(d);
  });

  it('labels are the digits; environment 0 holds the images unrotated, /255', () => {
    const d = rm();
    let wrong = 0;
    for (const e of d.environments)
      for (let j = 0; j < e.count; j++) if (e.labels[j] !== original(e.indices[j]!).digit) wrong++;
    expect(wrong).toBe(0);
    const e0 = d.environments[0]!;
    for (let j = 0; j < e0.count; j++) {
      const src = original(e0.indices[j]!).image;
      for (let p = 0; p < PIXELS; p++) if (e0.images[j * PIXELS + p] !== Math.fround(src[p]! / 255)) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it('the measured rotation of each environment is its angle (1° search, 40 images each)', () => {
    const d = rm();
    for (const e of d.environments) {
      const angle = Number(e.name);
      // The angle an independent rotation needs to best reproduce the built images, summed over a sample.
      const sse = new Float64Array(91);
      let exactHits = 0;
      for (let s = 0; s < 40; s++) {
        const j = s * 291;
        const built = e.images.subarray(j * PIXELS, (j + 1) * PIXELS);
        const src = original(e.indices[j]!).image;
        for (let a = 0; a <= 90; a++) {
          const r = naiveRotate(src, a);
          for (let p = 0; p < PIXELS; p++) sse[a] += (r[p]! - built[p]!) ** 2;
        }
        // And the exact search: Pillow's rotation of the original by the environment's angle is the built image.
        const best = Array.from({ length: 91 }, (_, a) => {
          const r = rotateBilinear(src, 28, a);
          let err = 0;
          for (let p = 0; p < PIXELS; p++) err += Math.abs(Math.fround(r[p]! / 255) - built[p]!);
          return err;
        });
        if (best[angle] === 0 && best.indexOf(Math.min(...best)) === angle) exactHits++;
      }
      expect(sse.indexOf(Math.min(...sse)), `environment ${e.name}`).toBe(angle);
      expect(exactHits).toBe(40);
    }
  });
});

describe('ColoredMNIST', () => {
  let data: DomainBedData | undefined;
  const cm = () => data!;
  beforeAll(async () => {
    data = await loadDomainBed('colored-mnist', { mnist, seed: 0 });
  }, 120_000);
  afterAll(() => {
    data = undefined; // 439 MB
  });

  it('three environments of 23,334 / 23,333 / 23,333, NHWC 28×28×2, 2 classes, every image once', () => {
    const d = cm();
    expect(d.environments.map((e) => e.name)).toEqual(['+90%', '+80%', '-90%']);
    expect(d.environments.map((e) => e.count)).toEqual([23334, 23333, 23333]);
    expect(d.inputShape).toEqual([28, 28, 2]);
    expect(d.numClasses).toBe(2);
    for (const e of d.environments) expect(e.images.length).toBe(e.count * PIXELS * 2);
    expectPartition(d);
  });

  it('label noise ≈ 0.25 and colour flips ≈ 0.1 / 0.2 / 0.9 (within 1%), the image in the colour channel only', () => {
    const d = cm();
    const flips = [0.1, 0.2, 0.9];
    d.environments.forEach((e, i) => {
      let noisy = 0;
      let flipped = 0;
      let wrong = 0;
      for (let j = 0; j < e.count; j++) {
        const { digit, image } = original(e.indices[j]!);
        const label = e.labels[j]!;
        if (label !== 0 && label !== 1) wrong++;
        if (label !== (digit < 5 ? 1 : 0)) noisy++;
        // The colour is the channel that holds the image: it equals the original /255, the other channel is 0.
        const colour = e.images[(j * PIXELS + image.indexOf(Math.max(...image))) * 2 + 1]! > 0 ? 1 : 0;
        if (colour !== label) flipped++;
        for (let p = 0; p < PIXELS; p++) {
          if (e.images[(j * PIXELS + p) * 2 + colour] !== Math.fround(image[p]! / 255)) wrong++;
          if (e.images[(j * PIXELS + p) * 2 + 1 - colour] !== 0) wrong++;
        }
      }
      expect(wrong).toBe(0);
      expect(Math.abs(noisy / e.count - 0.25), `label noise in ${e.name}`).toBeLessThan(0.01);
      expect(Math.abs(flipped / e.count - flips[i]!), `colour flips in ${e.name}`).toBeLessThan(0.01);
    });
  });
});

/** The first `nTrain` train and `nTest` test images of real MNIST, as an Mnist of its own. */
function smallMnist(nTrain: number, nTest: number): Mnist {
  const cut = (s: ImageSet, n: number): ImageSet => ({
    ...s,
    images: s.images.slice(0, n * PIXELS),
    labels: s.labels.slice(0, n),
    count: n,
  });
  return { train: cut(mnist.train, nTrain), test: cut(mnist.test, nTest), source: 'test subset' };
}

describe('determinism and options', () => {
  const same = (a: DomainBedData, b: DomainBedData) =>
    a.environments.every((e, i) => {
      const f = b.environments[i]!;
      return (
        Buffer.from(e.images.buffer).equals(Buffer.from(f.images.buffer)) &&
        Buffer.from(e.labels.buffer).equals(Buffer.from(f.labels.buffer)) &&
        Buffer.from(e.indices.buffer).equals(Buffer.from(f.indices.buffer))
      );
    });

  it('the same seed builds the same environments; another seed others', async () => {
    const small = smallMnist(600, 100);
    for (const ds of DOMAINBED_DATASETS) {
      const a = domainBedFromMnist(ds, small, 3);
      expect(same(a, domainBedFromMnist(ds, small, 3))).toBe(true);
      expect(same(a, await loadDomainBed(ds, { mnist: small, seed: 3 }))).toBe(true);
      expect(same(a, domainBedFromMnist(ds, small, 4))).toBe(false);
      // 700 images, interleaved: the first environments get one more.
      expect(a.environments.map((e) => e.count)).toEqual(
        ds === 'rotated-mnist' ? [117, 117, 117, 117, 116, 116] : [234, 233, 233],
      );
    }
    // The interleave: environment i holds images i, i + E, i + 2E, … of one seeded permutation of all images.
    const d = domainBedFromMnist('colored-mnist', small, 3);
    const perm = new Rng(3).permutation(700);
    expect(Array.from(perm, (_, k) => d.environments[k % 3]!.indices[Math.floor(k / 3)])).toEqual(Array.from(perm));
  });

  it('holdoutSplit: ⌊fraction·n⌋ out, the rest in, disjoint, covering, seeded', () => {
    const { in: inn, out } = holdoutSplit(11667, 0.2, 7);
    expect(out.length).toBe(2333);
    expect(inn.length).toBe(9334);
    const seen = new Uint8Array(11667);
    for (const k of [...inn, ...out]) seen[k]!++;
    expect(seen.every((c) => c === 1)).toBe(true);
    expect(holdoutSplit(11667, 0.2, 7).out).toEqual(out);
    expect(holdoutSplit(11667, 0.2, 8).out).not.toEqual(out);
    expect(holdoutSplit(23333, 0.2, 0).out.length).toBe(4666);
    expect(holdoutSplit(10, 0, 0).out.length).toBe(0);
    expect(holdoutSplit(10, 1, 0).in.length).toBe(0);
    expect(() => holdoutSplit(10, 1.5, 0)).toThrow(ConfigError);
    expect(() => holdoutSplit(10, Number.NaN, 0)).toThrow(ConfigError);
    expect(() => holdoutSplit(-1, 0.2, 0)).toThrow(ConfigError);
    expect(() => holdoutSplit(10, 0.2, 0.5)).toThrow(ConfigError);
  });

  it('bad options are ConfigErrors', async () => {
    const small = smallMnist(60, 10);
    await expect(loadDomainBed('pacs' as never, { mnist: small })).rejects.toSatisfy(
      (e) => ConfigError.isInstance(e) && /rotated-mnist, colored-mnist/.test((e as Error).message),
    );
    await expect(loadDomainBed('rotated-mnist', { mnist: small, seed: -1 })).rejects.toSatisfy(ConfigError.isInstance);
    await expect(loadDomainBed('rotated-mnist', { mnist: small, seed: 1.5 })).rejects.toSatisfy(ConfigError.isInstance);
    await expect(loadDomainBed('rotated-mnist', { mnist: small, angle: 10 } as never)).rejects.toSatisfy(
      ConfigError.isInstance,
    );
    await expect(loadDomainBed('colored-mnist', { mnist: small, dir: '/tmp' })).rejects.toSatisfy(
      ConfigError.isInstance,
    );
    const tiny: Mnist = { ...small, train: { ...small.train, rows: 14, cols: 56 } };
    expect(() => domainBedFromMnist('colored-mnist', tiny)).toThrow(ConfigError);
    expect(() => domainBedFromMnist('colored-mnist', {} as Mnist)).toThrow(ConfigError);
  });
});

/**
 * Guard: no synchronous tensor read (`dataSync`, `arraySync`, `bufferSync`) in library code.
 *
 * On WebGPU in Node a sync read of a GPU-resident tensor throws (`ReferenceError:
 * OffscreenCanvas is not defined` from inside tfjs), so one such call makes a whole class
 * unusable on that backend. Library code reads with `await t.data()` or computes what it needs
 * on host arrays. This test scans every non-test source file under packages/<name>/src of every
 * package and fails on a sync read outside ALLOWLIST; each allowed file is a test helper, and
 * the test also checks that no library file imports it.
 *
 * HYPERNETS_SCAN_ROOT=<repository root> scans another checkout (e.g. an old commit unpacked
 * with `git archive`) to see the guard fail there.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(process.env.HYPERNETS_SCAN_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'));

/** Files allowed to read synchronously, each with why (repository-relative, '/' separators). */
const ALLOWLIST: Record<string, string> = {
  'packages/core/src/nets/test-utils.ts': 'test helper (finite-difference gradient checks, max |a − b|); imported only by *.test.ts, runs on cpu',
  'packages/core/src/kernels/test_helpers.ts': 'test helper (kernel results per backend, compared against cpu); imported only by *.test.ts',
  'packages/nets/src/test-helpers.ts': 'test helper (gradient checks, init-variance measurements); imported only by *.test.ts',
  'packages/graph/src/fidelity-helpers.ts': 'test helper (comparisons with the PyTorch reference outputs); imported only by *.test.ts',
  'packages/graph/src/zoo/test-helpers.ts': 'test helper (relative error against reference gradients); imported only by *.test.ts',
};

const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const TEST = /\.(test|spec|bench)\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
const SYNC_READ = /\b(dataSync|arraySync|bufferSync)\s*\(|\.\s*(dataSync|arraySync|bufferSync)\b|\[\s*['"`](dataSync|arraySync|bufferSync)['"`]\s*\]/;

/**
 * The source with comments blanked (strings kept, line numbers kept): a comment that explains
 * why `dataSync()` is not used must not count as a use.
 */
function stripComments(src: string): string {
  let out = '';
  let i = 0;
  let quote: string | null = null;
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (quote) {
      out += c;
      if (c === '\\') {
        out += next ?? '';
        i += 2;
        continue;
      }
      if (c === quote) quote = null;
      i++;
    } else if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      if (c === "'" || c === '"' || c === '`') quote = c;
      out += c;
      i++;
    }
  }
  return out;
}

/** 1-based line numbers and text of the sync reads in a source file. */
function findSyncReads(src: string): { line: number; text: string }[] {
  const lines = src.split('\n');
  const code = stripComments(src).split('\n');
  const out: { line: number; text: string }[] = [];
  code.forEach((l, i) => {
    if (SYNC_READ.test(l)) out.push({ line: i + 1, text: lines[i]!.trim() });
  });
  return out;
}

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const rel = (p: string) => relative(ROOT, p).split(sep).join('/');

/** Every source file under packages/<name>/src, test files included (they are told apart later). */
function packageSources(): string[] {
  const pkgs = join(ROOT, 'packages');
  return readdirSync(pkgs)
    .map((p) => join(pkgs, p, 'src'))
    .filter((d) => existsSync(d) && statSync(d).isDirectory())
    .flatMap((d) => walk(d));
}

/** Relative import / export / dynamic import specifiers of a file, resolved to existing files. */
function localImports(file: string, src: string): string[] {
  const specs = [...stripComments(src).matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  const out: string[] = [];
  for (const s of specs) {
    const base = resolve(dirname(file), s);
    const candidates = [base, base.replace(/\.(m|c)?js$/, '.$1ts'), base.replace(/\.js$/, '.tsx'), `${base}.ts`, join(base, 'index.ts')];
    const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile());
    if (hit) out.push(hit);
  }
  return out;
}

describe('no synchronous tensor reads in library code', () => {
  it('the scanner finds the patterns that broke WebGPU, and not comments about them', () => {
    // Lines as they were in nets/src/base.ts, hyperlstm.ts, perturb.ts, graph/src/io.ts.
    expect(findSyncReads('      return tf.mean(tf.square(h)).dataSync()[0]!;')).toHaveLength(1);
    expect(findSyncReads('  const g = tf.tidy(() => rng.normal([k, m]).dataSync());')).toHaveLength(1);
    expect(findSyncReads('out[n] = Math.exp(this.logSigma[n]!.dataSync()[0]!);')).toHaveLength(1);
    expect(findSyncReads('const a = t.arraySync();\nconst b = t.bufferSync();\nconst f = t.dataSync;\nt["dataSync"]();')).toHaveLength(4);
    expect(findSyncReads('  // await data(), not dataSync(): WebGPU in Node cannot read synchronously.\n/* t.arraySync() */ const x = 1;')).toEqual([]);
    expect(findSyncReads("const url = 'https://x//y'; t.dataSync();")).toEqual([{ line: 1, text: "const url = 'https://x//y'; t.dataSync();" }]);
    expect(findSyncReads('await t.data(); await t.array(); t.buffer();')).toEqual([]);
  });

  it(`no dataSync / arraySync / bufferSync under packages/*/src outside the allowlist (scanning ${ROOT})`, () => {
    const files = packageSources().filter((f) => !TEST.test(f));
    expect(files.length).toBeGreaterThan(20); // the scan found the packages
    const found: string[] = [];
    for (const f of files) {
      if (rel(f) in ALLOWLIST) continue;
      for (const r of findSyncReads(readFileSync(f, 'utf8'))) found.push(`${rel(f)}:${r.line}: ${r.text}`);
    }
    expect(
      found,
      'library code must not read tensors synchronously (fails on WebGPU in Node): use `await t.data()`, or compute on host arrays ' +
        '(e.g. Rng.normalArray); a test-only helper may be added to ALLOWLIST with its reason',
    ).toEqual([]);
  });

  it('every allowlist entry has a reason, exists, and is imported by test files only', () => {
    const all = packageSources();
    const library = all.filter((f) => !TEST.test(f));
    for (const [file, reason] of Object.entries(ALLOWLIST)) {
      expect(reason.length, `${file}: give the reason`).toBeGreaterThan(10);
      expect(existsSync(join(ROOT, file)), `${file} is allowlisted but does not exist: remove the entry`).toBe(true);
    }
    const importers: string[] = [];
    for (const f of library)
      for (const dep of localImports(f, readFileSync(f, 'utf8'))) if (rel(dep) in ALLOWLIST && !(rel(f) in ALLOWLIST)) importers.push(`${rel(f)} imports ${rel(dep)}`);
    expect(importers, 'allowlisted test helpers may read synchronously only because no library code imports them').toEqual([]);
  });
});

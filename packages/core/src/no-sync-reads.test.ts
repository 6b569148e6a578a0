/**
 * Guard: no synchronous tensor read (`dataSync`, `arraySync`, `bufferSync`) in library code.
 *
 * On WebGPU in Node a sync read of a GPU-resident tensor throws (`ReferenceError:
 * OffscreenCanvas is not defined` from inside tfjs), so one such call makes a whole class
 * unusable on that backend. Library code reads with `await t.data()` or computes what it needs
 * on host arrays. This test scans every non-test source file under packages/<name>/src of every
 * package and fails on a sync read outside packages/<name>/src/testing/ (test-only modules) and
 * ALLOWLIST (test helpers not yet moved there, each with a reason); the test also checks that no
 * library file imports either.
 *
 * HYPERNETS_SCAN_ROOT=<repository root> scans another checkout (e.g. an old commit unpacked
 * with `git archive`) to see the guard fail there. The scanner is shared: testing/source-scan.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, TEST, TESTING, findInCode, localImports, packageSources, rel } from './testing/source-scan.js';

/** Why everything under packages/<name>/src/testing/ may read synchronously. */
const TESTING_REASON =
  'test-only module (helpers, fixtures; gradient checks and comparisons against cpu read synchronously); imported only by tests';

/**
 * Test helpers outside a testing/ folder allowed to read synchronously, each with why
 * (repository-relative, '/' separators).
 */
const ALLOWLIST: Record<string, string> = {};

/**
 * Library files that read synchronously only on backends whose tensors live in host memory
 * (cpu, wasm: `hostReadsAreSynchronous()`), never on WebGPU; each with why. Unlike ALLOWLIST,
 * library code imports them. host-reads.test.ts checks the gate.
 */
const HOST_MEMORY_ONLY: Record<string, string> = {
  'packages/core/src/host-reads.ts':
    "replayHostReads answers a staged forward's reads (top-k expert ids) with dataSync only when hostReadsAreSynchronous() (cpu, wasm); every other backend needs a log recorded with await data()",
};

/** A file allowed to read synchronously: under a testing/ folder, or in ALLOWLIST. */
const allowed = (relPath: string) => TESTING.test(relPath) || relPath in ALLOWLIST;

const SYNC_READ =
  /\b(dataSync|arraySync|bufferSync)\s*\(|\.\s*(dataSync|arraySync|bufferSync)\b|\[\s*['"`](dataSync|arraySync|bufferSync)['"`]\s*\]/;

/** 1-based line numbers and text of the sync reads in a source file. */
const findSyncReads = (src: string) => findInCode(src, SYNC_READ);

describe('no synchronous tensor reads in library code', () => {
  it('the scanner finds the patterns that broke WebGPU, and not comments about them', () => {
    // Lines as they were in nets/src/base.ts, hyperlstm.ts, perturb.ts, graph/src/io.ts.
    expect(findSyncReads('      return tf.mean(tf.square(h)).dataSync()[0]!;')).toHaveLength(1);
    expect(findSyncReads('  const g = tf.tidy(() => rng.normal([k, m]).dataSync());')).toHaveLength(1);
    expect(findSyncReads('out[n] = Math.exp(this.logSigma[n]!.dataSync()[0]!);')).toHaveLength(1);
    expect(
      findSyncReads('const a = t.arraySync();\nconst b = t.bufferSync();\nconst f = t.dataSync;\nt["dataSync"]();'),
    ).toHaveLength(4);
    expect(
      findSyncReads(
        '  // await data(), not dataSync(): WebGPU in Node cannot read synchronously.\n/* t.arraySync() */ const x = 1;',
      ),
    ).toEqual([]);
    expect(findSyncReads("const url = 'https://x//y'; t.dataSync();")).toEqual([
      { line: 1, text: "const url = 'https://x//y'; t.dataSync();" },
    ]);
    expect(findSyncReads('await t.data(); await t.array(); t.buffer();')).toEqual([]);
  });

  it(`no dataSync / arraySync / bufferSync under packages/*/src outside the allowlist (scanning ${ROOT})`, () => {
    const files = packageSources().filter((f) => !TEST.test(f));
    expect(files.length).toBeGreaterThan(20); // the scan found the packages
    const found: string[] = [];
    for (const f of files) {
      if (allowed(rel(f)) || rel(f) in HOST_MEMORY_ONLY) continue;
      for (const r of findSyncReads(readFileSync(f, 'utf8'))) found.push(`${rel(f)}:${r.line}: ${r.text}`);
    }
    expect(
      found,
      'library code must not read tensors synchronously (fails on WebGPU in Node): use `await t.data()`, or compute on host arrays ' +
        "(e.g. Rng.normalArray); a test-only helper belongs under the package's src/testing/",
    ).toEqual([]);
  });

  it('every allowlist entry has a reason and exists; no library file imports a testing/ module or an allowlisted helper', () => {
    const all = packageSources();
    const library = all.filter((f) => !TEST.test(f));
    expect(TESTING_REASON.length).toBeGreaterThan(10);
    expect(all.filter((f) => TESTING.test(rel(f))).length, 'the testing/ folders were found').toBeGreaterThan(3);
    for (const [file, reason] of Object.entries({ ...ALLOWLIST, ...HOST_MEMORY_ONLY })) {
      expect(reason.length, `${file}: give the reason`).toBeGreaterThan(10);
      expect(existsSync(join(ROOT, file)), `${file} is allowlisted but does not exist: remove the entry`).toBe(true);
    }
    const importers: string[] = [];
    for (const f of library)
      for (const dep of localImports(f, readFileSync(f, 'utf8')))
        if (allowed(rel(dep)) && !allowed(rel(f))) importers.push(`${rel(f)} imports ${rel(dep)}`);
    expect(
      importers,
      'test-only modules (src/testing/, ALLOWLIST) may read synchronously only because no library code imports them; ' +
        'nor are they exported from a package index',
    ).toEqual([]);
  });
});

/**
 * Guard: library code throws typed errors, not a bare `new Error(...)`.
 *
 * A user catches `ShapeMismatchError`, `ConfigError`, `CheckpointError`, `GraphError`, … (each
 * with `isInstance`, which holds across duplicate package copies) and reads what was wrong from
 * the message; a bare Error can only be matched by its text. This test scans every non-test
 * source file under packages/<name>/src (the scanner of testing/source-scan.ts, shared with
 * no-sync-reads.test.ts) and fails on `new Error(` / `throw Error(` unless
 *  - the file is a test-only module under packages/<name>/src/testing/ (no library file imports
 *    one: checked in no-sync-reads.test.ts) or a test helper in ALLOWLIST (with its reason), or
 *  - the throw states an internal invariant: a `// invariant: <why this cannot be bad input>`
 *    comment on its line or on one of the two lines above (a bug if it fires, not user input).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, TEST, TESTING, findInCode, packageSources, rel } from './testing/source-scan.js';

/** Why everything under packages/<name>/src/testing/ may throw bare Errors. */
const TESTING_REASON = 'test-only module (helpers, fixtures); imported only by tests, its errors fail a test';

/**
 * Test helpers outside a testing/ folder that may throw bare Errors, each with why
 * (repository-relative, '/' separators).
 */
const ALLOWLIST: Record<string, string> = {};

/** A file that may throw bare Errors: under a testing/ folder, or in ALLOWLIST. */
const allowed = (relPath: string) => TESTING.test(relPath) || relPath in ALLOWLIST;

const RAW_ERROR = /\bnew\s+Error\s*\(|\bthrow\s+Error\s*\(/;
const INVARIANT = /\/\/\s*invariant:\s*\S.{9,}/;

/** Bare Error constructions in `src` that carry no `// invariant:` comment on their line or the two above. */
function findRawErrors(src: string): { line: number; text: string }[] {
  const lines = src.split('\n');
  return findInCode(src, RAW_ERROR).filter(
    ({ line }) => !lines.slice(Math.max(0, line - 3), line).some((l) => INVARIANT.test(l)),
  );
}

describe('no bare Error in library code', () => {
  it('the scanner finds bare Errors, and not comments, typed errors or stated invariants', () => {
    expect(findRawErrors('  if (C % heads !== 0) throw new Error(`graphormerLayer: ${C} features`);')).toHaveLength(1);
    expect(findRawErrors("throw Error('x');\nconst e = new Error('y');\nreject(new  Error ('z'));")).toHaveLength(3);
    expect(
      findRawErrors("throw new ConfigError('heads', 'x');\nthrow new TypeError('t');\nthrow new GraphError(g, 'd');"),
    ).toEqual([]);
    expect(findRawErrors("// throw new Error('old way')\n/* new Error() */ const m = 1;")).toEqual([]);
    expect(
      findRawErrors(
        "  // invariant: tfjs registers Sum before the pack replaces it.\n  if (k == null) throw new Error('no Sum');",
      ),
    ).toEqual([]);
    expect(
      findRawErrors("  // invariant: the kernels size their outputs.\n  if (a)\n    throw new Error('size');"),
    ).toEqual([]);
    // An invariant comment needs a reason, and reaches only the statement below it.
    expect(findRawErrors("  // invariant:\n  throw new Error('a');")).toHaveLength(1);
    expect(
      findRawErrors("  // invariant: only build() calls this.\n  f();\n  g();\n  throw new Error('far');"),
    ).toHaveLength(1);
  });

  it(`no bare new Error( under packages/*/src outside the allowlist and stated invariants (scanning ${ROOT})`, () => {
    const files = packageSources().filter((f) => !TEST.test(f));
    expect(files.length).toBeGreaterThan(20); // the scan found the packages
    const found: string[] = [];
    for (const f of files) {
      if (allowed(rel(f))) continue;
      for (const r of findRawErrors(readFileSync(f, 'utf8'))) found.push(`${rel(f)}:${r.line}: ${r.text}`);
    }
    expect(
      found,
      'throw the fitting typed error (ShapeMismatchError, ConfigError, UnsupportedOpError, CheckpointError, the package’s own …), ' +
        'passing { cause: e } when wrapping another error; an internal invariant (a bug if it fires) may stay a bare Error with a ' +
        "`// invariant: <why>` comment above it; a test-only helper belongs under the package's src/testing/",
    ).toEqual([]);
  });

  it('every allowlist entry has a reason and exists', () => {
    expect(TESTING_REASON.length).toBeGreaterThan(10);
    for (const [file, reason] of Object.entries(ALLOWLIST)) {
      expect(reason.length, `${file}: give the reason`).toBeGreaterThan(10);
      expect(existsSync(join(ROOT, file)), `${file} is allowlisted but does not exist: remove the entry`).toBe(true);
    }
  });
});

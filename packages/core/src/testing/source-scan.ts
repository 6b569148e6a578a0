/**
 * The source scanner behind the repository guards (`no-sync-reads.test.ts`,
 * `no-raw-errors.test.ts`): every source file under packages/<name>/src, comments blanked, and
 * each file's relative imports. Test-only: nothing in the published packages imports it.
 *
 * HYPERNETS_SCAN_ROOT=<repository root> scans another checkout (e.g. an old commit unpacked
 * with `git archive`) to see a guard fail there.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(
  process.env.HYPERNETS_SCAN_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..'),
);

export const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
/** Test, spec and bench files: not library code. */
export const TEST = /\.(test|spec|bench)\.(ts|tsx|mts|cts|js|mjs|cjs)$/;
/**
 * Test-only modules (fixtures, helpers, child processes of tests): everything under
 * packages/<name>/src/testing/ (repository-relative path, '/' separators). Not library code, so
 * the guards let them read synchronously and throw bare Errors; no-sync-reads.test.ts checks
 * that no library file imports one, so none is part of a package's API.
 */
export const TESTING = /^packages\/[^/]+\/src\/testing\//;

/**
 * The source with comments blanked (strings kept, line numbers kept): a comment that explains
 * why `dataSync()` is not used must not count as a use.
 */
export function stripComments(src: string): string {
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

/** 1-based line numbers and text of the lines whose code (comments blanked) matches `pattern`. */
export function findInCode(src: string, pattern: RegExp): { line: number; text: string }[] {
  const lines = src.split('\n');
  const code = stripComments(src).split('\n');
  const out: { line: number; text: string }[] = [];
  code.forEach((l, i) => {
    if (pattern.test(l)) out.push({ line: i + 1, text: lines[i]!.trim() });
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

/** Repository-relative path with '/' separators. */
export const rel = (p: string) => relative(ROOT, p).split(sep).join('/');

/** Every source file under packages/<name>/src, test files included (tell them apart with TEST). */
export function packageSources(): string[] {
  const pkgs = join(ROOT, 'packages');
  return readdirSync(pkgs)
    .map((p) => join(pkgs, p, 'src'))
    .filter((d) => existsSync(d) && statSync(d).isDirectory())
    .flatMap((d) => walk(d));
}

/** Relative import / export / dynamic import specifiers of a file, resolved to existing files. */
export function localImports(file: string, src: string): string[] {
  const specs = [
    ...stripComments(src).matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g),
  ].map((m) => m[1]!);
  const out: string[] = [];
  for (const s of specs) {
    const base = resolve(dirname(file), s);
    const candidates = [
      base,
      base.replace(/\.(m|c)?js$/, '.$1ts'),
      base.replace(/\.js$/, '.tsx'),
      `${base}.ts`,
      join(base, 'index.ts'),
    ];
    const hit = candidates.find((c) => existsSync(c) && statSync(c).isFile());
    if (hit) out.push(hit);
  }
  return out;
}

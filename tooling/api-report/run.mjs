#!/usr/bin/env node
// API reports: one api-extractor report per public entry point of every published package,
// read from the built .d.ts (run `pnpm build` first). The entries come from each package.json
// `exports` map: every subpath with a `types` file gets packages/<pkg>/api/<name>.api.md, where
// <name> is the types path under dist/ (dist/index.d.ts -> index, dist/errors/index.d.ts -> errors).
// Skipped: ./package.json, ./internal and ./testing (and subpaths below them), wildcard patterns.
//
//   node tooling/api-report/run.mjs            regenerate the reports (api-extractor --local)
//   node tooling/api-report/run.mjs --check    fail if a report differs from the committed one
//   ... [--verbose] [package-dir-name ...]     e.g. `core nets` to limit the run
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Extractor, ExtractorConfig, ExtractorLogLevel } from '@microsoft/api-extractor';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const templatePath = path.join(here, 'api-extractor.json');
const tempRoot = path.join(root, 'node_modules/.cache/api-report');
const SKIPPED = ['internal', 'testing'];
const FIX = 'run `pnpm build && pnpm api` and commit the reports';

const args = process.argv.slice(2);
const check = args.includes('--check');
const verbose = args.includes('--verbose');
const only = args.filter((a) => !a.startsWith('--'));
const rel = (p) => path.relative(root, p);

/** The `types` file of one exports value (a string, or nested conditions), or undefined. */
function typesOf(value, pkgDir) {
  if (typeof value === 'string') {
    if (/\.d\.[cm]?ts$/.test(value)) return value;
    const dts = value.replace(/\.([cm]?)js$/, '.d.$1ts');
    return dts !== value && existsSync(path.join(pkgDir, dts)) ? dts : undefined;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  if (typeof value.types === 'string') return value.types;
  for (const [condition, v] of Object.entries(value)) {
    if (condition.startsWith('@hypernets/')) continue; // source conditions point at .ts files
    const found = typesOf(v, pkgDir);
    if (found) return found;
  }
  return undefined;
}

/** Report name for a types path: dist/index.d.ts -> index, dist/errors/index.d.ts -> errors. */
function reportName(typesPath) {
  const parts = typesPath
    .replace(/^\.\//, '')
    .replace(/\.d\.[cm]?ts$/, '')
    .split('/')
    .filter((p) => p !== '' && p !== '.');
  if (parts[0] === 'dist' || parts[0] === 'lib' || parts[0] === 'types') parts.shift();
  if (parts.length > 1 && parts.at(-1) === 'index') parts.pop();
  return parts.join('-') || 'index';
}

/** Published packages under packages/ and their public entry points. */
function collect() {
  const problems = [];
  const pkgs = [];
  const dirs = readdirSync(path.join(root, 'packages'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, 'packages', d.name, 'package.json')))
    .map((d) => d.name)
    .sort();
  for (const unknown of only.filter((o) => !dirs.includes(o))) problems.push(`no package packages/${unknown}`);
  for (const dir of dirs) {
    if (only.length > 0 && !only.includes(dir)) continue;
    const pkgDir = path.join(root, 'packages', dir);
    const packageJsonPath = path.join(pkgDir, 'package.json');
    const packageJson = JSON.parse(readFileSync(packageJsonPath, 'utf8'));
    if (packageJson.private) continue;
    let exportsMap = packageJson.exports ?? { '.': { types: packageJson.types ?? packageJson.typings } };
    if (typeof exportsMap === 'string' || !Object.keys(exportsMap).some((k) => k.startsWith('.'))) {
      exportsMap = { '.': exportsMap }; // `"exports": "./x.js"` or a bare condition map
    }
    const entries = [];
    for (const [subpath, value] of Object.entries(exportsMap)) {
      if (subpath === './package.json') continue;
      const segments = subpath.split('/');
      if (segments.some((s) => SKIPPED.includes(s))) continue;
      if (subpath.includes('*')) {
        console.log(`api: ${packageJson.name} "${subpath}": wildcard subpath, no report`);
        continue;
      }
      const types = typesOf(value, pkgDir);
      if (!types) {
        problems.push(`${packageJson.name} "${subpath}": no types file in its exports entry`);
        continue;
      }
      const name = reportName(types);
      const clash = entries.find((e) => e.name === name);
      if (clash) {
        problems.push(`${packageJson.name}: "${clash.subpath}" and "${subpath}" both map to api/${name}.api.md`);
        continue;
      }
      entries.push({ subpath, name, dts: path.join(pkgDir, types) });
    }
    pkgs.push({ dir, pkgDir, packageJsonPath, packageJson, entries });
  }
  return { pkgs, problems };
}

function run() {
  const started = Date.now();
  const { pkgs, problems } = collect();
  const failures = [...problems];
  const template = ExtractorConfig.loadFile(templatePath);
  let reports = 0;

  for (const pkg of pkgs) {
    const { packageJson, pkgDir, entries } = pkg;
    const reportFolder = path.join(pkgDir, 'api');
    const expected = new Set(entries.map((e) => `${e.name}.api.md`));

    // Reports whose entry point is gone (removed or now internal).
    if (existsSync(reportFolder)) {
      for (const file of readdirSync(reportFolder).filter((f) => f.endsWith('.api.md') && !expected.has(f))) {
        const stale = path.join(reportFolder, file);
        if (check) failures.push(`${packageJson.name}: ${rel(stale)} has no public entry point any more`);
        else {
          rmSync(stale);
          console.log(`api: ${packageJson.name}: removed ${rel(stale)} (entry point gone)`);
        }
      }
    }

    for (const entry of entries) {
      const label = `${packageJson.name}${entry.subpath === '.' ? '' : entry.subpath.slice(1)}`;
      const report = path.join(reportFolder, `${entry.name}.api.md`);
      if (!existsSync(entry.dts)) {
        failures.push(`${label}: ${rel(entry.dts)} not found (run \`pnpm build\` first)`);
        continue;
      }
      if (check && !existsSync(report)) {
        failures.push(`${label}: ${rel(report)} is missing: ${FIX}`);
        continue;
      }
      const existed = existsSync(report);
      mkdirSync(reportFolder, { recursive: true });
      const configObject = structuredClone(template);
      configObject.projectFolder = pkgDir;
      configObject.mainEntryPointFilePath = entry.dts;
      configObject.apiReport.reportFileName = entry.name;
      configObject.apiReport.reportFolder = reportFolder;
      configObject.apiReport.reportTempFolder = path.join(tempRoot, pkg.dir);
      // The built .d.ts only, resolved as consumers resolve them (no source condition).
      configObject.compiler = {
        overrideTsconfig: {
          compilerOptions: {
            target: 'ES2022',
            module: 'ESNext',
            moduleResolution: 'Bundler',
            lib: ['ES2022', 'DOM'],
            strict: true,
            skipLibCheck: true,
            types: [],
          },
          files: [entry.dts],
        },
      };
      const config = ExtractorConfig.prepare({
        configObject,
        configObjectFullPath: templatePath,
        packageJsonFullPath: pkg.packageJsonPath,
        packageJson,
      });
      const messages = [];
      const result = Extractor.invoke(config, {
        localBuild: !check,
        showVerboseMessages: verbose,
        printApiReportDiff: check,
        messageCallback: (m) => {
          // Our own summary replaces the "API signature changed" notices and the TS version note.
          if (
            [
              'console-api-report-copied',
              'console-api-report-created',
              'console-api-report-not-copied',
              'console-preamble',
              'console-compiler-version-notice',
            ].includes(m.messageId)
          ) {
            m.handled = true;
            return;
          }
          if (m.messageId === 'console-api-report-diff') return; // printed; the failure is counted below
          if (m.logLevel === ExtractorLogLevel.Warning || m.logLevel === ExtractorLogLevel.Error) {
            messages.push(m);
          }
        },
      });
      reports += 1;
      const errors = messages.filter((m) => m.logLevel === ExtractorLogLevel.Error);
      if (result.errorCount > 0) {
        failures.push(`${label}: api-extractor reported ${result.errorCount} error(s)`);
      }
      if (check && result.apiReportChanged) {
        failures.push(`${label}: ${rel(report)} differs from the public API in ${rel(entry.dts)}: ${FIX}`);
      } else if (!check) {
        const note = !existed ? ' (new)' : result.apiReportChanged ? ' (updated)' : '';
        console.log(`api: ${label} -> ${rel(report)}${note}`);
      }
      if (errors.length === 0 && messages.length > 0) {
        console.log(`api: ${label}: ${messages.length} warning(s) (not failing)`);
      }
    }
  }

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (failures.length > 0) {
    console.error(`\napi${check ? ':check' : ''} failed:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log(`api${check ? ':check' : ''}: ${reports} report(s) ${check ? 'up to date' : 'written'} in ${seconds}s`);
  }
}

run();

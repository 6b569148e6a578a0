#!/usr/bin/env node
// Guard: the publishable packages as npm users get them (DESIGN contract 6, "What users install").
//
//  1. builds every publishable workspace package (turbo, filtered) and packs each with `pnpm pack`;
//  2. checks each tarball: LICENSE and repository present, no workspace-only export condition,
//     every exports/main/types/bin target and every relative README link shipped;
//  3. installs the tarballs with npm into a fresh project under os.tmpdir() (outside the workspace),
//     with what the READMEs' `npm install` lines name, plus TypeScript 5.9 and Vite 8;
//  4. type-checks (tsc, strict, module/moduleResolution nodenext) every ```ts block of every package
//     README and runs each with node. Blocks are found automatically; info-string words:
//       ```ts fragment   type-checked only, with the context declared in an HTML comment right
//                        above it: <!-- context: ...TypeScript (imports, declare const …)... -->
//       ```ts vite       a browser entry: type-checked with vite/client types, built with
//                        `vite build` (the .wasm files must be in dist/) and run in headless Chromium,
//                        where it must finish on the wasm backend;
//  5. runs every bin through node_modules/.bin (`--help` prints usage and exits 0, a short demo).
//
// Any failure exits non-zero. HYPERNETS_INSTALL_TEST_KEEP=1 keeps the temporary project.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockSource, codeBlocks } from './blocks.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const KEEP = process.env.HYPERNETS_INSTALL_TEST_KEEP === '1';
const NODE_BLOCK_TIMEOUT_S = 300;
const HARNESS = ['typescript@~5.9.3', '@types/node@^20.19.0', 'vite@^8.0.0'];
// Commands every bin must answer from node_modules/.bin (besides the READMEs' npx lines).
const BIN_SMOKE = { hypernets: [['--help'], ['demo', '--steps', '5']] };

const t0 = Date.now();
const failures = [];
const say = (msg) => console.log(`[install-test ${((Date.now() - t0) / 1000).toFixed(0).padStart(4)}s] ${msg}`);
const fail = (msg) => {
  failures.push(msg);
  console.log(`[install-test] FAIL: ${msg}`);
};

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) return { status: -1, stdout: '', stderr: String(r.error), timedOut: r.error.code === 'ETIMEDOUT' };
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut: r.signal === 'SIGTERM' };
}
function mustRun(what, cmd, args, opts = {}) {
  say(`${what}: ${cmd} ${args.join(' ')}`);
  const r = run(cmd, args, opts);
  if (r.status !== 0) {
    console.log(tail(r.stdout + r.stderr, 60));
    throw new Error(`${what} failed (exit ${r.status})`);
  }
  return r;
}
const tail = (s, n) =>
  s
    .trimEnd()
    .split('\n')
    .slice(-n)
    .map((l) => (l.length > 300 ? `${l.slice(0, 300)} …` : l))
    .join('\n');
const indent = (s) =>
  s
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

// ---------------------------------------------------------------------------------------------
// Workspace packages that are published (not private).
function publishable() {
  const out = [];
  for (const group of ['packages', 'apps', 'tooling']) {
    const g = join(ROOT, group);
    if (!existsSync(g)) continue;
    for (const d of readdirSync(g).sort()) {
      const f = join(g, d, 'package.json');
      if (!existsSync(f)) continue;
      const pkg = JSON.parse(readFileSync(f, 'utf8'));
      if (!pkg.private) out.push({ name: pkg.name, version: pkg.version, dir: join(g, d), rel: `${group}/${d}`, pkg });
    }
  }
  return out;
}

// Files a tarball ships and its package.json.
function tarball(tgz) {
  const files = run('tar', ['tzf', tgz])
    .stdout.split('\n')
    .filter(Boolean)
    .map((f) => f.replace(/^package\//, ''));
  const pkg = JSON.parse(run('tar', ['xzf', tgz, '-O', 'package/package.json']).stdout);
  const readme = files.includes('README.md') ? run('tar', ['xzf', tgz, '-O', 'package/README.md']).stdout : '';
  return { files, pkg, readme };
}

function checkTarball(p, tgz) {
  const { files, pkg, readme } = tarball(tgz);
  const shipped = (f) => {
    const n = f.replace(/^\.\//, '').replace(/\/$/, '');
    return files.some((x) => x === n || x.startsWith(`${n}/`));
  };
  const problems = [];
  if (!files.some((f) => /^LICEN[CS]E/i.test(f))) problems.push('no LICENSE file');
  if (!pkg.license) problems.push('no "license"');
  if (!pkg.repository) problems.push('no "repository"');
  const entry = JSON.stringify([pkg.exports, pkg.main, pkg.module, pkg.types, pkg.typings, pkg.bin]);
  if (entry.includes('@hypernets/source'))
    problems.push('its exports keep the workspace-only "@hypernets/source" condition');
  const deps = JSON.stringify([pkg.dependencies, pkg.peerDependencies, pkg.optionalDependencies]);
  if (deps.includes('workspace:')) problems.push('its dependencies keep a workspace: range');
  const targets = [];
  const walk = (v) =>
    typeof v === 'string' ? targets.push(v) : v && typeof v === 'object' && Object.values(v).forEach(walk);
  walk(pkg.exports);
  for (const k of ['main', 'module', 'types', 'typings']) if (pkg[k]) targets.push(pkg[k]);
  walk(typeof pkg.bin === 'string' ? { bin: pkg.bin } : pkg.bin);
  for (const t of targets)
    if (t.startsWith('.') || !t.includes(':')) if (!shipped(t)) problems.push(`points at ${t}, which is not shipped`);
  for (const m of readme.matchAll(/\]\(([^)\s]+)[^)]*\)/g)) {
    const link = m[1];
    if (/^[a-z][a-z0-9+.-]*:/i.test(link) || link.startsWith('#')) continue;
    if (!shipped(link.split('#')[0]))
      problems.push(`README links ${link}, which is not shipped (link to GitHub or ship it)`);
  }
  if (problems.length) fail(`${p.name}: ${problems.join('; ')}`);
  else say(`${p.name}: ${files.length} files, LICENSE, repository, every export/bin/link target shipped`);
}

// ---------------------------------------------------------------------------------------------
function main() {
  const pkgs = publishable();
  say(`publishable packages: ${pkgs.map((p) => p.name).join(', ')}`);
  const work = mkdtempSync(join(tmpdir(), 'hypernets-install-test-'));
  say(`temporary project: ${work}`);
  try {
    steps(pkgs, work);
  } catch (e) {
    fail(e instanceof Error ? e.message : String(e));
  } finally {
    if (KEEP) say(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  if (failures.length) {
    console.log(
      `\n[install-test] ${failures.length} failure(s) in ${secs}s:\n${failures.map((f) => `  - ${f}`).join('\n')}`,
    );
    process.exit(1);
  }
  say(`all checks passed in ${secs}s`);
}

function steps(pkgs, work) {
  // 1. Build and pack.
  mustRun(
    'build',
    'pnpm',
    ['exec', 'turbo', 'run', 'build', ...pkgs.map((p) => `--filter=${p.name}`), '--output-logs=errors-only'],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const tarDir = join(work, 'tarballs');
  mkdirSync(tarDir);
  const tgz = {};
  for (const p of pkgs) {
    const before = new Set(readdirSync(tarDir));
    mustRun(`pack ${p.name}`, 'pnpm', ['pack', '--pack-destination', tarDir], { cwd: p.dir });
    const made = readdirSync(tarDir).filter((f) => !before.has(f) && f.endsWith('.tgz'));
    if (made.length !== 1) throw new Error(`pnpm pack of ${p.name} made ${made.length} tarballs`);
    tgz[p.name] = join(tarDir, made[0]);
  }

  // 2. What each tarball ships.
  for (const p of pkgs) checkTarball(p, tgz[p.name]);

  // 3. A fresh npm project outside the workspace; the READMEs' install lines, tarballs for ours.
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'hypernets-install-test-app', private: true, type: 'module' }, null, 2),
  );
  const readmes = pkgs.map((p) => ({ p, file: join(p.dir, 'README.md') })).filter((r) => existsSync(r.file));
  const specs = new Set(Object.values(tgz));
  const npxLines = [];
  for (const { p, file } of readmes) {
    for (const b of codeBlocks(readFileSync(file, 'utf8'))) {
      if (!['sh', 'bash', 'shell', 'console'].includes(b.lang)) continue;
      const cmds = b.code.map((l) =>
        l
          .replace(/^\s*\$\s*/, '')
          .replace(/\s+#.*$/, '')
          .trim(),
      );
      if (!cmds.some((c) => /^npm (install|i) /.test(c))) continue;
      for (const c of cmds) {
        const m = /^npm (?:install|i) (.+)$/.exec(c);
        if (m) {
          for (const a of m[1].split(/\s+/)) {
            if (a.startsWith('-')) continue;
            const name = a.startsWith('@') ? `@${a.slice(1).split('@')[0]}` : a.split('@')[0];
            if (name.startsWith('@hypernets/')) {
              if (!tgz[name]) fail(`${p.rel}/README.md installs ${name}, which is not a publishable package here`);
            } else specs.add(a);
          }
        }
        const x = /^npx (\S+)(.*)$/.exec(c);
        if (x) npxLines.push({ from: `${p.rel}/README.md`, bin: x[1], args: x[2].trim().split(/\s+/).filter(Boolean) });
      }
    }
  }
  for (const h of HARNESS) specs.add(h);
  const installArgs = [
    'install',
    '--no-audit',
    '--no-fund',
    '--loglevel=error',
    ...[...specs].map((s) => (s.endsWith('.tgz') ? relative(app, s) : s)),
  ];
  // One retry: the registry is the only network this needs, and a dropped connection is not a finding.
  say(`npm install: npm ${installArgs.join(' ')}`);
  const first = run('npm', installArgs, { cwd: app });
  if (first.status !== 0) {
    say(`npm install failed (${tail(first.stderr, 3)}); once more`);
    mustRun('npm install (retry)', 'npm', installArgs, { cwd: app });
  }
  const versions = run('npm', ['ls', '--all', '--parseable', '--long'], { cwd: app }).stdout;
  const tfjsCores = new Set([...versions.matchAll(/@tensorflow\/tfjs-core@([\d.]+)/g)].map((m) => m[1]));
  if (tfjsCores.size !== 1)
    fail(
      `npm installed ${tfjsCores.size} versions of @tensorflow/tfjs-core (${[...tfjsCores].join(', ')}): it must be one`,
    );
  else say(`one @tensorflow/tfjs-core (${[...tfjsCores][0]})`);

  // 4. README ```ts blocks.
  const nodeDir = join(app, 'readme');
  mkdirSync(nodeDir);
  const nodeBlocks = [];
  const viteBlocks = [];
  // The repository's own README (its quickstart) too: it is what a visitor copies first.
  const rootReadme = { p: { dir: ROOT, rel: '.', root: true }, file: join(ROOT, 'README.md') };
  for (const { p, file } of [...readmes, ...(existsSync(rootReadme.file) ? [rootReadme] : [])]) {
    let n = 0;
    for (const b of codeBlocks(readFileSync(file, 'utf8'))) {
      if (!['ts', 'typescript', 'tsx', 'mts'].includes(b.lang)) continue;
      n++;
      const id = `${p.root ? 'root' : basename(p.dir)}-${n}`;
      const { fragment, vite, context, code, offset } = blockSource(b, `${p.rel}/README.md`);
      if (fragment && !context) say(`${id}: fragment without a <!-- context: … --> comment: type-checked alone`);
      const blk = { id, src: `${p.rel}/README.md:${b.line}`, readmeLine: b.line, offset, fragment };
      const src = code;
      if (vite) viteBlocks.push({ ...blk, code: src });
      else {
        writeFileSync(join(nodeDir, `${id}.ts`), src);
        nodeBlocks.push(blk);
      }
    }
  }
  say(
    `README blocks: ${nodeBlocks.length} for node (${nodeBlocks.filter((b) => b.fragment).length} fragments), ${viteBlocks.length} for Vite`,
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'es2022',
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          skipLibCheck: false,
          rootDir: 'readme',
          outDir: 'out',
          sourceMap: true,
        },
        include: ['readme/*.ts'],
      },
      null,
      2,
    ),
  );
  const tsVersion = run('node', [join(app, 'node_modules/typescript/bin/tsc'), '--version'], {
    cwd: app,
  }).stdout.trim();
  say(`type-check README blocks (${tsVersion}, strict, nodenext)`);
  const tsc = run('node', [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app });
  if (tsc.status !== 0) {
    const byFile = Object.fromEntries(nodeBlocks.map((b) => [`readme/${b.id}.ts`, b]));
    const msgs = (tsc.stdout + tsc.stderr)
      .trimEnd()
      .split('\n')
      .map((l) => {
        const m = /^(readme\/[^()]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(l);
        const b = m && byFile[m[1]];
        if (!b) return l;
        const line = Number(m[2]) - b.offset;
        return line >= 1
          ? `${b.src.split(':')[0]}:${b.readmeLine + line - 1}: ${m[4]}`
          : `${b.src} (declared context): ${m[4]}`;
      });
    fail(`README blocks do not type-check:\n${indent(msgs.join('\n'))}`);
  } else say('README blocks type-check');

  for (const b of nodeBlocks) {
    if (b.fragment) continue;
    const js = join(app, 'out', `${b.id}.js`);
    if (!existsSync(js)) {
      fail(`${b.src}: not compiled`);
      continue;
    }
    const cwd = join(app, 'runs', b.id);
    mkdirSync(cwd, { recursive: true });
    say(`run ${b.src} (node)`);
    const s = Date.now();
    const r = run('node', ['--enable-source-maps', js], { cwd, timeout: NODE_BLOCK_TIMEOUT_S * 1000 });
    const took = ((Date.now() - s) / 1000).toFixed(1);
    if (r.status !== 0)
      fail(
        `${b.src} ${r.timedOut ? `timed out after ${NODE_BLOCK_TIMEOUT_S}s` : `exited ${r.status}`} (${took}s):\n${indent(tail(r.stdout + r.stderr, 25))}`,
      );
    else say(`  ok in ${took}s${r.stdout.trim() ? `; last line: ${tail(r.stdout, 1).slice(0, 160)}` : ''}`);
  }

  // 5. Bins through node_modules/.bin.
  const bins = new Set(
    pkgs.flatMap((p) => (typeof p.pkg.bin === 'string' ? [p.name.split('/').pop()] : Object.keys(p.pkg.bin ?? {}))),
  );
  for (const bin of Object.keys(BIN_SMOKE))
    if (!bins.has(bin)) fail(`no publishable package provides the '${bin}' bin (a private package is not installable)`);
  const binRuns = [];
  for (const bin of bins) {
    for (const args of BIN_SMOKE[bin] ?? [['--help']]) binRuns.push({ from: 'install-test', bin, args });
  }
  for (const x of npxLines)
    if (bins.has(x.bin) && !binRuns.some((r) => r.bin === x.bin && r.args.join(' ') === x.args.join(' ')))
      binRuns.push(x);
  for (const { from, bin, args } of binRuns) {
    const exe = join(app, 'node_modules', '.bin', bin);
    say(`run node_modules/.bin/${bin} ${args.join(' ')} (${from})`);
    if (!existsSync(exe)) {
      fail(`node_modules/.bin/${bin} was not installed`);
      continue;
    }
    const s = Date.now();
    const r = run(exe, args, { cwd: join(app, 'runs'), timeout: NODE_BLOCK_TIMEOUT_S * 1000 });
    const took = ((Date.now() - s) / 1000).toFixed(1);
    const out = r.stdout + r.stderr;
    if (r.status !== 0) fail(`${bin} ${args.join(' ')} exited ${r.status} (${took}s):\n${indent(tail(out, 20))}`);
    else if (args[0] === '--help' && !/usage/i.test(r.stdout))
      fail(`${bin} --help exited 0 but printed no usage text on stdout:\n${indent(tail(out, 10) || '(nothing)')}`);
    else if (!out.trim()) fail(`${bin} ${args.join(' ')} printed nothing`);
    else say(`  ok in ${took}s; last line: ${tail(out, 1).slice(0, 160)}`);
  }

  // 6. Vite: each ```ts vite block is an app entry: type-check, build, .wasm in dist/, run in Chromium.
  for (const b of viteBlocks) viteApp(app, b);
}

function viteApp(app, b) {
  const dir = join(app, `vite-${b.id}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'block.ts'), b.code);
  // The harness: import the block (its top-level await finishes first), then report to the server.
  writeFileSync(
    join(dir, 'main.ts'),
    `const logs: string[] = [];
for (const k of ['log', 'warn', 'error'] as const) {
  const orig = console[k].bind(console);
  console[k] = (...a: unknown[]) => { logs.push(k + ': ' + a.map(String).join(' ')); orig(...a); };
}
const report = (r: object) => fetch('/__report', { method: 'POST', body: JSON.stringify({ ...r, logs }) });
try {
  await import('./block.ts');
  const tf = await import('@tensorflow/tfjs-core');
  await report({ ok: true, backend: tf.getBackend() });
} catch (e) {
  await report({ ok: false, error: e instanceof Error ? e.stack ?? e.message : String(e) });
}
export {};
`,
  );
  writeFileSync(join(dir, 'vite-env.d.ts'), '/// <reference types="vite/client" />\n');
  writeFileSync(
    join(dir, 'index.html'),
    `<!doctype html>\n<html><body><script type="module" src="/main.ts"></script></body></html>\n`,
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      // As Vite's own template (vite-env.d.ts references vite/client for ?url imports).
      compilerOptions: {
        target: 'es2022',
        module: 'esnext',
        moduleResolution: 'bundler',
        allowImportingTsExtensions: true,
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        lib: ['es2022', 'dom'],
      },
      include: ['*.ts'],
    }),
  );
  say(`type-check ${b.src} (Vite entry, vite/client types)`);
  const tsc = run('node', [join(app, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: dir });
  if (tsc.status !== 0) {
    const msgs = (tsc.stdout + tsc.stderr)
      .trimEnd()
      .split('\n')
      .map((l) => {
        const m = /^block\.ts\((\d+),(\d+)\): (.*)$/.exec(l);
        return m ? `${b.src.split(':')[0]}:${b.readmeLine + Number(m[1]) - b.offset - 1}: ${m[3]}` : l;
      });
    fail(`${b.src} does not type-check:\n${indent(msgs.join('\n'))}`);
  }
  const vite = join(app, 'node_modules/vite/bin/vite.js');
  const version = run('node', [vite, '--version'], { cwd: dir }).stdout.trim();
  say(`vite build ${b.src} (${version})`);
  const r = run('node', [vite, 'build', '--logLevel', 'warn'], { cwd: dir, timeout: 300_000 });
  if (r.status !== 0) {
    fail(`vite build of ${b.src} failed:\n${indent(tail(r.stdout + r.stderr, 30))}`);
    return;
  }
  const dist = join(dir, 'dist');
  const files = [];
  const walk = (d) =>
    readdirSync(d).forEach((f) =>
      statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : files.push(relative(dist, join(d, f))),
    );
  walk(dist);
  const wasm = files.filter((f) => f.endsWith('.wasm'));
  if (wasm.length === 0) fail(`vite build of ${b.src}: no .wasm file in dist/ (${files.join(', ')})`);
  else say(`  dist/ has ${wasm.join(', ')}`);
  browserRun(b, dist, app);
}

function chromium() {
  for (const c of [
    process.env.CHROMIUM,
    'chromium',
    'chromium-browser',
    'google-chrome',
    'google-chrome-stable',
  ].filter(Boolean)) {
    if (run('sh', ['-c', `command -v ${c}`]).status === 0) return c;
  }
  return null;
}

const MIME = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.json': 'application/json',
  '.map': 'application/json',
};

function browserRun(b, dist, app) {
  const exe = chromium();
  if (!exe) {
    if (process.env.CI === 'true')
      fail(`no Chromium to run the Vite build of ${b.src} (install Debian's chromium: bash .ci/install-webgpu.sh)`);
    else say(`  SKIPPED running the Vite build in a browser: no chromium on PATH`);
    return;
  }
  // Run the checks in a child so this script's synchronous flow stays simple.
  const child = join(app, `browser-${b.id}.mjs`);
  writeFileSync(
    child,
    `(${browserChild.toString()})(${JSON.stringify({ dist, exe, profile: join(app, `chrome-${b.id}`), mime: MIME })});`,
  );
  say(`run the Vite build of ${b.src} in ${exe} (headless)`);
  const r = run('node', [child], { timeout: 150_000 });
  let res;
  try {
    res = JSON.parse(r.stdout.trim().split('\n').pop());
  } catch {
    fail(
      `browser run of ${b.src}: no report (${r.timedOut ? 'timed out' : `exit ${r.status}`}):\n${indent(tail(r.stdout + r.stderr, 20))}`,
    );
    return;
  }
  if (!res.ok)
    fail(
      `the Vite build of ${b.src} failed in the browser: ${res.error}\n${indent((res.logs ?? []).slice(-15).join('\n'))}`,
    );
  else if (res.backend !== 'wasm')
    fail(
      `the Vite build of ${b.src} ran on '${res.backend}', not wasm:\n${indent((res.logs ?? []).slice(-15).join('\n'))}`,
    );
  else say(`  ran in the browser on wasm; last log: ${(res.logs ?? []).slice(-1)[0]?.slice(0, 160) ?? '(none)'}`);
}

// Runs in a child process: serve dist/, open it in headless Chromium, print the page's report.
async function browserChild({ dist, exe, profile, mime }) {
  const { createServer } = await import('node:http');
  const { readFile } = await import('node:fs/promises');
  const { join, extname, normalize } = await import('node:path');
  const { spawn } = await import('node:child_process');
  let done;
  const report = new Promise((r) => (done = r));
  const server = createServer(async (req, res) => {
    if (req.method === 'POST' && req.url === '/__report') {
      let body = '';
      for await (const c of req) body += c;
      res.end('ok');
      done(body);
      return;
    }
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = path === '/' || path === '\\' ? 'index.html' : path;
    try {
      const data = await readFile(join(dist, file));
      res.writeHead(200, { 'content-type': mime[extname(file)] ?? 'application/octet-stream' });
      res.end(data);
    } catch {
      // What an SPA host does: index.html for anything unknown (a missing .wasm gets HTML).
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(await readFile(join(dist, 'index.html')));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const browser = spawn(
    exe,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      url,
    ],
    {
      stdio: 'ignore',
      detached: true,
    },
  );
  const timer = new Promise((r) =>
    setTimeout(() => r(JSON.stringify({ ok: false, error: 'no report from the page within 120 s' })), 120_000),
  );
  const out = await Promise.race([report, timer]);
  try {
    process.kill(-browser.pid, 'SIGKILL');
  } catch {
    // the browser has already exited
  }
  server.close();
  console.log(out.replace(/\n/g, ' '));
  process.exit(0);
}

main();

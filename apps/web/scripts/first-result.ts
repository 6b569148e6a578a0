// Benchmark (not a test): time from navigation to the first trained per-sample result, per backend,
// in headless Chromium on the built app. `pnpm --filter @hypernets/web bench [--full] [--backends webgpu,wasm,cpu]`
// Reads the page's own clock (performance.now() counts from navigation start).
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, buildApp, serveApp } from '../test/serve.js';

interface PerSample {
  initialMse: number;
  heldOutMse: number;
  steps: number;
  seconds: number;
  trainedAtMs: number;
  doneAtMs: number;
}

interface PageReport {
  perSample?: PerSample;
  readyAtMs?: number;
  status: string;
  device: string;
  flavour: string;
  b1: string;
  b256: string;
}

const READ_PAGE = `(() => {
  const d = window.hypernetsDemo;
  const q = (s) => document.querySelector(s)?.textContent ?? '';
  return {
    perSample: d?.perSample,
    readyAtMs: d?.backend?.readyAtMs,
    status: q('[data-section="per-sample"] [data-testid="status"]'),
    device: q('[data-testid="device"]'),
    flavour: q('[data-testid="wasm-flavour"]'),
    b1: q('[data-testid="time-b1"]'),
    b256: q('[data-testid="time-b256"]'),
  };
})()`;

const args = process.argv.slice(2);
const full = args.includes('--full');
const i = args.indexOf('--backends');
const backends = (i >= 0 ? args[i + 1]! : 'webgpu,wasm,cpu').split(',');

buildApp();
const served = await serveApp();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
const rows: string[] = [];
try {
  for (const backend of backends) {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await page.goto(`${served.url}?backend=${backend}&autorun=1${full ? '' : '&quick=1'}`);
    await page.waitForFunction(
      () =>
        /^(done|error)/.test(
          document.querySelector('[data-section="per-sample"] [data-testid="status"]')?.textContent ?? '',
        ) ||
        /^error/.test(document.querySelector('[data-section="backend"] [data-testid="status"]')?.textContent ?? ''),
      null,
      { timeout: 3_600_000, polling: 500 },
    );
    // A string, not a function: tsx's keepNames would put a `__name` helper the page does not have into it.
    const r = (await page.evaluate(READ_PAGE)) as PageReport;
    await page.close();
    const p = r.perSample;
    if (!p) {
      rows.push(`| ${backend} | failed: ${r.status} ${errors.join('; ')} |`);
      continue;
    }
    rows.push(
      `| ${backend} | ${((r.readyAtMs ?? NaN) / 1000).toFixed(1)} s | ${(p.trainedAtMs / 1000).toFixed(1)} s | ${p.steps} steps in ${p.seconds.toFixed(1)} s ` +
        `| ${p.heldOutMse.toFixed(4)} | ${r.b1} | ${r.b256} | ${(p.doneAtMs / 1000).toFixed(1)} s | ${r.device}${r.flavour ? `, ${r.flavour}` : ''} |`,
    );
    console.log(rows.at(-1));
  }
} finally {
  await browser.close();
  await served.close();
}
console.log(`\nbudget: ${full ? 'full' : 'quick'}; times from navigation start (the page's performance.now())\n`);
console.log(
  '| backend | backend ready | first trained result | training | held-out MSE | B=1 | B=256 | section done | device |',
);
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(r);

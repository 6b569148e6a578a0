// The page: reads the query parameters, mounts each section, runs them in order on ?autorun=1.
import './style.css';
import { backendSection } from './sections/backend.js';
import { perSampleSection } from './sections/per-sample.js';
import { continualSection } from './sections/continual.js';
import { ghnSection } from './sections/ghn.js';
import { mountSection, type Context, type PageParams, type Section, type SectionHost } from './sections/section.js';
import { BROWSER_BACKENDS, type BrowserBackend } from './backend.js';

// In page order.
const SECTIONS: Section[] = [backendSection, perSampleSection, continualSection, ghnSection];

function readParams(search: string): PageParams {
  const q = new URLSearchParams(search);
  const b = q.get('backend');
  const flag = (name: string) => ['1', 'true', 'yes'].includes((q.get(name) ?? '').toLowerCase());
  if (b !== null && b !== 'auto' && !(BROWSER_BACKENDS as readonly string[]).includes(b))
    throw new Error(`?backend=${b} is not a backend here; use one of ${BROWSER_BACKENDS.join(', ')} (or leave it out)`);
  return {
    backend: b === null || b === 'auto' ? undefined : (b as BrowserBackend),
    autorun: flag('autorun'),
    quick: flag('quick'),
  };
}

async function main() {
  const root = document.getElementById('sections')!;
  let params: PageParams;
  try {
    params = readParams(location.search);
  } catch (e) {
    params = { autorun: false, quick: false };
    const ctx: Context = { params };
    const host = mountSection(root, backendSection, ctx);
    host.setStatus(`error: ${(e as Error).message}`);
    return;
  }
  const ctx: Context = { params };
  const hosts: SectionHost[] = SECTIONS.map((s) => mountSection(root, s, ctx));
  (window as any).hypernetsDemo = { params };
  // The backend starts on load (every later section needs it); the rest wait for a click or ?autorun=1.
  if (!(await hosts[0]!.start())) return;
  if (!params.autorun) return;
  for (const host of hosts.slice(1)) if (!(await host.start())) return;
}

void main();

// What every demo section of the page is: a wrapper `[data-section=id]` holding a status
// (`ready` | `running` | `done` | `error: …`, data-testid="status") and a headline number
// (data-testid="result"). `?autorun=1` runs the sections in page order; later sections
// (continual learning, graph hypernetworks) are added to the list in main.ts.
import type { BackendReport } from '../backend.js';
import { el } from '../dom.js';

export interface PageParams {
  /** `?backend=`: forced, or undefined for the automatic choice. */
  backend?: 'webgpu' | 'wasm' | 'cpu';
  /** `?autorun=1`: run every section in order without clicks. */
  autorun: boolean;
  /** `?quick=1`: short budgets. */
  quick: boolean;
}

export interface Context {
  params: PageParams;
  /** Set by the backend section once a backend runs. */
  backend?: BackendReport;
}

export interface Section {
  id: string;
  title: string;
  /** Builds the section's DOM inside its wrapper (before anything runs). */
  mount(body: HTMLElement, ctx: Context, host: SectionHost): void;
  /** Runs the section's computation; resolves with the headline result text. */
  run(ctx: Context, host: SectionHost): Promise<string>;
}

export interface SectionHost {
  root: HTMLElement;
  setStatus(s: 'ready' | 'running' | 'done' | `error: ${string}`): void;
  setResult(text: string): void;
  /** Runs the section, keeping status and result up to date; errors become `error: …`. */
  start(): Promise<boolean>;
}

export function mountSection(parent: HTMLElement, section: Section, ctx: Context): SectionHost {
  const status = el('span', { 'data-testid': 'status', class: 'status' }, 'ready');
  const result = el('span', { 'data-testid': 'result', class: 'result' });
  const body = el('div', { class: 'section-body' });
  const root = el(
    'section',
    { 'data-section': section.id, class: 'card' },
    el(
      'header',
      {},
      el('h2', {}, section.title),
      el('p', { class: 'state' }, 'status: ', status, ' · result: ', result),
    ),
    body,
  );
  parent.append(root);
  let running: Promise<boolean> | undefined;
  const host: SectionHost = {
    root,
    setStatus(s) {
      status.textContent = s;
      status.dataset.state = s.startsWith('error') ? 'error' : s;
    },
    setResult(text) {
      result.textContent = text;
    },
    start() {
      if (running) return running;
      running = (async () => {
        host.setStatus('running');
        host.setResult('');
        try {
          host.setResult(await section.run(ctx, host));
          host.setStatus('done');
          return true;
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          host.setStatus(`error: ${msg}`);
          console.error(`[${section.id}]`, e);
          return false;
        } finally {
          running = undefined;
        }
      })();
      return running;
    },
  };
  section.mount(body, ctx, host);
  return host;
}

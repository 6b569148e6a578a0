// Section 1: which backend runs the page, on what device, and why the others were skipped.
import { BROWSER_BACKENDS, startBackend, type BackendReport } from '../backend.js';
import { el, fmtMs } from '../dom.js';
import type { Section } from './section.js';

function row(label: string, value: string, testid?: string): HTMLElement {
  return el('div', { class: 'kv' }, el('dt', {}, label), el('dd', testid ? { 'data-testid': testid } : {}, value));
}

function adapterText(r: BackendReport): string {
  const a = r.adapter;
  if (!a.available) return `none (${a.reason})`;
  const parts = [
    a.vendor && `vendor ${a.vendor}`,
    a.architecture && `architecture ${a.architecture}`,
    a.description && a.description !== a.vendor ? a.description : undefined,
    a.isFallbackAdapter === undefined ? 'isFallbackAdapter: not reported' : `isFallbackAdapter: ${a.isFallbackAdapter}`,
  ].filter(Boolean);
  return parts.join(' · ');
}

export const backendSection: Section = {
  id: 'backend',
  title: '1 · Backend',
  mount(body, ctx) {
    const chosen = el('strong', { 'data-testid': 'backend' }, '…');
    const details = el('dl', { class: 'details' });
    const select = el('select', { 'aria-label': 'backend' });
    for (const name of ['auto', ...BROWSER_BACKENDS]) {
      const opt = el('option', { value: name }, name);
      if ((ctx.params.backend ?? 'auto') === name) opt.selected = true;
      select.append(opt);
    }
    const button = el('button', { type: 'button' }, 'Switch and rerun');
    button.addEventListener('click', () => {
      const url = new URL(location.href);
      if (select.value === 'auto') url.searchParams.delete('backend');
      else url.searchParams.set('backend', select.value);
      url.searchParams.set('autorun', '1');
      location.assign(url.href);
    });
    body.append(
      el('p', {}, 'Running on ', chosen, '.'),
      details,
      el('div', { class: 'controls' }, el('label', {}, 'Backend ', select), button),
      el(
        'p',
        { class: 'note' },
        'Without a choice the page takes webgpu when navigator.gpu gives an adapter, else wasm, else cpu ' +
          '(all through initBackend of @hypernets/core). Switching reloads the page with ?backend=…',
      ),
    );
    body.dataset.ready = '1';
  },
  async run(ctx, host) {
    const r = await startBackend(ctx.params.backend);
    ctx.backend = r;
    (window as any).hypernetsDemo = { ...(window as any).hypernetsDemo, backend: r };
    host.root.querySelector('[data-testid="backend"]')!.textContent = r.backend;
    const details = host.root.querySelector('dl.details')!;
    details.replaceChildren(
      row('device', r.device, 'device'),
      row('requested', r.requested),
      row('WebGPU adapter', adapterText(r), 'adapter'),
      ...(r.wasm
        ? [
            row(
              'wasm flavour',
              `${r.wasm.flavour} (XNNPACK threads ${r.wasm.threads}; SIMD ${r.wasm.simd}, ` +
                `threads supported ${r.wasm.multithread}, crossOriginIsolated ${r.wasm.crossOriginIsolated})`,
              'wasm-flavour',
            ),
          ]
        : []),
      row(
        'skipped',
        r.skipped.length
          ? r.skipped.map((s) => `${s.backend}: ${s.reason}`).join(' | ')
          : 'nothing (first choice started)',
        'skipped',
      ),
      row('ready after', fmtMs(r.readyAtMs)),
    );
    return r.device;
  },
};

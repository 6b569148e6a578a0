// A few DOM helpers for the sections (no HTML strings).
type Attrs = Record<string, string | number | boolean | undefined>;

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'class') e.className = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

/** A table of class `timings` with one header row of `headers` over `body` (rows appended by the caller). */
export function table(headers: string[], body: HTMLTableSectionElement): HTMLTableElement {
  return el('table', { class: 'timings' }, el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))), body);
}

/** Waits for the browser to paint once (and lets input events through). */
export const nextFrame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));

export function fmtMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

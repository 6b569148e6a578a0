// Markdown code blocks, and what the install test makes of a ```ts block.

/** ```lang meta … ``` blocks of a markdown file, each with the HTML comment right above it (if any). */
export function codeBlocks(markdown) {
  const lines = markdown.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*```(\S*)\s*(.*)$/.exec(lines[i]);
    if (!m) continue;
    let j = i + 1;
    while (j < lines.length && !/^\s*```\s*$/.test(lines[j])) j++;
    let comment = null;
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === '') k--;
    if (k >= 0 && lines[k].trim().endsWith('-->')) {
      let s = k;
      while (s >= 0 && !lines[s].includes('<!--')) s--;
      if (s >= 0)
        comment = lines
          .slice(s, k + 1)
          .join('\n')
          .replace(/^\s*<!--/, '')
          .replace(/-->\s*$/, '');
    }
    blocks.push({
      lang: m[1].toLowerCase(),
      meta: m[2].split(/\s+/).filter(Boolean),
      line: i + 2,
      code: lines.slice(i + 1, j),
      comment,
    });
    i = j;
  }
  return blocks;
}

/**
 * The TypeScript file for a ```ts block: a header naming its README line, then (```ts fragment
 * only) the context declared in the comment above it, `<!-- context: … -->`, then the block.
 * `offset` is the number of lines before the block's first line.
 */
export function blockSource(b, readme) {
  const fragment = b.meta.includes('fragment');
  const vite = b.meta.includes('vite');
  const hasContext = fragment && b.comment != null && /^\s*context\b/.test(b.comment);
  const context = hasContext ? b.comment.replace(/^\s*context\b:?[^\n]*\n?/, '').split('\n') : [];
  const header = [`// ${readme}, block at line ${b.line}${fragment ? ' (fragment: type-checked only)' : ''}`];
  const code = [...header, ...context, ...b.code, 'export {};', ''].join('\n');
  return {
    fragment,
    vite,
    context: hasContext ? context.join('\n') : null,
    code,
    offset: header.length + context.length,
  };
}

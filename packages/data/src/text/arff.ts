import { DatasetError } from '../errors.js';

/** An ARFF attribute: string, numeric, or nominal with its values. */
export type ArffAttribute =
  | { readonly name: string; readonly type: 'string' | 'numeric' }
  | { readonly name: string; readonly type: 'nominal'; readonly values: readonly string[] };

export interface Arff {
  readonly relation: string;
  readonly attributes: readonly ArffAttribute[];
  /** Each row's values as strings (numeric ones unparsed), in attribute order. */
  readonly rows: readonly (readonly string[])[];
}

/** Limits of `parseArff`: input size (characters) and row count. */
export interface ArffLimits {
  maxChars?: number;
  maxRows?: number;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '%': '%' };

/** A small cursor over one line: reads quoted or bare tokens, as Weka writes them. */
class Line {
  i = 0;
  constructor(
    readonly s: string,
    readonly file: string,
    readonly lineNo: number,
  ) {}

  fail(why: string): never {
    throw new DatasetError(this.file, `line ${this.lineNo}: ${why}`);
  }

  skipSpace(): void {
    while (this.i < this.s.length && (this.s[this.i] === ' ' || this.s[this.i] === '\t')) this.i++;
  }

  done(): boolean {
    this.skipSpace();
    return this.i >= this.s.length || this.s[this.i] === '%';
  }

  /** A value: 'quoted' or "quoted" with backslash escapes, else bare up to a delimiter. */
  token(delims: string): string {
    this.skipSpace();
    const q = this.s[this.i];
    if (q === "'" || q === '"') {
      let out = '';
      this.i++;
      while (this.i < this.s.length) {
        const c = this.s[this.i]!;
        if (c === '\\') {
          const n = this.s[this.i + 1];
          if (n === undefined) break;
          out += ESCAPES[n] ?? n;
          this.i += 2;
        } else if (c === q) {
          this.i++;
          return out;
        } else {
          out += c;
          this.i++;
        }
      }
      this.fail(
        `unterminated ${q === "'" ? 'single' : 'double'}-quoted value (opened at column ${this.s.indexOf(q) + 1})`,
      );
    }
    const start = this.i;
    while (this.i < this.s.length && !delims.includes(this.s[this.i]!)) this.i++;
    return this.s.slice(start, this.i).trim();
  }
}

function parseAttribute(line: Line): ArffAttribute {
  const name = line.token(' \t{');
  if (name.length === 0) line.fail('@attribute without a name');
  line.skipSpace();
  if (line.s[line.i] === '{') {
    line.i++;
    const values: string[] = [];
    for (;;) {
      const v = line.token(',}');
      line.skipSpace();
      const c = line.s[line.i];
      if (c === undefined) line.fail(`nominal attribute '${name}' lacks its closing '}'`);
      values.push(v);
      line.i++;
      if (c === '}') break;
    }
    if (!line.done()) line.fail(`text after the values of nominal attribute '${name}'`);
    return { name, type: 'nominal', values };
  }
  const type = line.token(' \t').toLowerCase();
  if (!line.done()) line.fail(`text after the type of attribute '${name}'`);
  if (type === 'string') return { name, type: 'string' };
  if (type === 'numeric' || type === 'real' || type === 'integer') return { name, type: 'numeric' };
  return line.fail(`attribute '${name}' has type '${type}'; this reader knows string, numeric and {nominal}`);
}

/**
 * Parses the dense ARFF format Weka writes (`@relation`, `@attribute` string / numeric /
 * {nominal}, `@data`, one row a line, values quoted with backslash escapes). Work is bounded by
 * the input's size (`maxChars`, default 64 MiB) and `maxRows` (default 1,000,000); every problem
 * is a `DatasetError` naming `file` and the line.
 */
export function parseArff(text: string, file: string, limits: ArffLimits = {}): Arff {
  const maxChars = limits.maxChars ?? 64 * 1024 * 1024;
  const maxRows = limits.maxRows ?? 1_000_000;
  if (text.length > maxChars)
    throw new DatasetError(file, `is ${text.length} characters, more than the ${maxChars} this ARFF reader accepts`);
  const lines = text.split('\n');
  let relation: string | undefined;
  const attributes: ArffAttribute[] = [];
  const rows: string[][] = [];
  let inData = false;
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!.replace(/\r$/, '');
    const line: Line = new Line(raw, file, n + 1);
    if (line.done()) continue;
    if (!inData) {
      const m = /^\s*@(\w+)/.exec(raw);
      if (!m) line.fail(`expected @relation, @attribute or @data, found ${JSON.stringify(raw.slice(0, 40))}`);
      const kw = m[1]!.toLowerCase();
      line.i = m[0].length;
      if (kw === 'relation') {
        if (relation !== undefined) line.fail('a second @relation');
        relation = line.token(' \t');
      } else if (kw === 'attribute') {
        if (relation === undefined) line.fail('@attribute before @relation');
        attributes.push(parseAttribute(line));
      } else if (kw === 'data') {
        if (attributes.length === 0) line.fail('@data before any @attribute');
        inData = true;
      } else line.fail(`unknown declaration @${kw}`);
      continue;
    }
    line.skipSpace();
    if (line.s[line.i] === '{') line.fail('sparse rows ({index value, …}) are not supported');
    if (rows.length >= maxRows) line.fail(`more than ${maxRows} rows`);
    const row: string[] = [];
    for (;;) {
      if (row.length === attributes.length)
        line.fail(`more than the ${attributes.length} values the attributes declare`);
      const v = line.token(',%');
      const a = attributes[row.length]!;
      if (a.type === 'nominal' && v !== '?' && !a.values.includes(v))
        line.fail(`value ${JSON.stringify(v.slice(0, 40))} of '${a.name}' is not one of {${a.values.join(',')}}`);
      if (a.type === 'numeric' && v !== '?' && !Number.isFinite(Number(v)))
        line.fail(`value ${JSON.stringify(v.slice(0, 40))} of '${a.name}' is not a number`);
      row.push(v);
      if (line.done()) break;
      if (line.s[line.i] !== ',') line.fail(`expected ',' after value ${row.length} of ${attributes.length}`);
      line.i++;
    }
    if (row.length !== attributes.length)
      line.fail(`${row.length} values, but the attributes declare ${attributes.length}`);
    rows.push(row);
  }
  if (relation === undefined) throw new DatasetError(file, 'no @relation: not an ARFF file');
  if (!inData) throw new DatasetError(file, 'no @data section: the file ends before its rows');
  return { relation, attributes, rows };
}

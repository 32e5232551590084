/**
 * A small, deterministic YAML writer for generated manifests (CRDs, Atlas resources): block
 * style, two-space indentation, keys in insertion order, no line folding, so regenerating is
 * byte-stable whatever YAML library versions are installed.
 *
 * Scalars stay readable and unambiguous for YAML 1.1 and 1.2 readers (kubectl, Helm, Argo CD,
 * js-yaml): plain only for words that cannot be read as anything but a string, otherwise
 * single-quoted, or double-quoted with JSON escapes when needed; multi-line text as a literal
 * block (`|`, `|-`). Input is JSON data (no undefined inside arrays, no non-finite numbers).
 */

/**
 * Words YAML 1.1 (yes/no/on/off/y/n) or 1.2 (true/false/null) would not read as strings, and
 * `E0`-like words some YAML 1.1 readers take for floats with an empty mantissa.
 */
const RESERVED = /^(y|yes|n|no|true|false|on|off|null|~)$|^e[-+]?[0-9]/i;
const PLAIN = /^[A-Za-z_][A-Za-z0-9_ ./@()-]*$/;
/** Characters YAML allows unescaped in quoted scalars (c-printable minus line separators and BOM). */
const PRINTABLE = /^[\x20-\x7E\u00A0-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
/** Characters YAML allows in a literal block (printable plus tab and line feed). */
const BLOCK_PRINTABLE = /^[\t\n\x20-\x7E\u00A0-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD\u{10000}-\u{10FFFF}]*$/u;
const NOT_PRINTABLE = /[^\x20-\x7E\u00A0-\u2027\u202A-\uD7FF\uE000-\uFEFE\uFF00-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** JSON's escapes are YAML's; what JSON leaves raw but YAML forbids is escaped as well. */
function doubleQuoted(text: string): string {
  return JSON.stringify(text).replace(
    NOT_PRINTABLE,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
}

/**
 * A one-line scalar for a string. Quotes as Prettier (`singleQuote`) would, so hand-checked
 * YAML stays Prettier-clean: single quotes unless the text holds more `'` than `"`.
 */
function quote(text: string): string {
  if (PLAIN.test(text) && !text.endsWith(' ') && !RESERVED.test(text)) return text;
  if (PRINTABLE.test(text) && count(text, "'") <= count(text, '"')) return `'${text.replaceAll("'", "''")}'`;
  return doubleQuoted(text);
}

/** The lines of a literal block for `text`, or undefined when a block cannot represent it exactly. */
function literalBlock(text: string): { indicator: string; lines: string[] } | undefined {
  if (!text.includes('\n') || !BLOCK_PRINTABLE.test(text)) return undefined;
  if (text.endsWith('\n\n') || text.trim() === '') return undefined;
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const lines = body.split('\n');
  // The first non-empty line sets the block's indentation: it must not start with a blank.
  if (/^[ \t]/.test(lines.find((line) => line !== '') ?? '')) return undefined;
  // A line of only blanks would be read back as empty; a trailing blank line would be lost.
  if (lines.some((line) => line !== '' && line.trim() === '') || lines.at(-1) === '') return undefined;
  return { indicator: text.endsWith('\n') ? '|' : '|-', lines };
}

function scalar(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (typeof value === 'string') return quote(value);
  throw new Error(`cannot write a ${typeof value} as YAML`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isEmptyCollection(value: unknown): boolean {
  return Array.isArray(value) ? value.length === 0 : isObject(value) && Object.keys(value).length === 0;
}

/** `prefix` is the text before the value on its first line (`key:` or `-`). */
function writeValue(value: unknown, indent: number, prefix: string, out: string[]): void {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value) && value.length > 0) {
    out.push(prefix);
    writeSequence(value, indent + 2, out);
  } else if (isObject(value) && Object.keys(value).length > 0) {
    out.push(prefix);
    writeMapping(value, indent + 2, out);
  } else if (isEmptyCollection(value)) {
    out.push(`${prefix} ${Array.isArray(value) ? '[]' : '{}'}`);
  } else if (typeof value === 'string' && literalBlock(value) !== undefined) {
    const block = literalBlock(value)!;
    out.push(`${prefix} ${block.indicator}`);
    for (const line of block.lines) out.push(line === '' ? '' : `${pad}  ${line}`);
  } else {
    out.push(`${prefix} ${scalar(value)}`);
  }
}

function writeMapping(map: Record<string, unknown>, indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  for (const [key, value] of Object.entries(map)) {
    writeValue(value, indent, `${pad}${quote(key)}:`, out);
  }
}

function writeSequence(list: readonly unknown[], indent: number, out: string[]): void {
  const pad = ' '.repeat(indent);
  for (const item of list) {
    if (isObject(item) && Object.keys(item).length > 0) {
      // `- key: value` with the item's other keys aligned under the first.
      const start = out.length;
      writeMapping(item, indent + 2, out);
      out[start] = `${pad}- ${out[start]!.slice(indent + 2)}`;
    } else {
      writeValue(item, indent, `${pad}-`, out);
    }
  }
}

/** JSON data only: object members that are undefined are left out (as JSON.stringify does). */
function normalize(value: unknown, path: string): unknown {
  if (Array.isArray(value)) return value.map((item, i) => normalize(item, `${path}/${i}`));
  if (isObject(value)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, normalize(v, `${path}/${k}`)]),
    );
  }
  if (value === undefined) throw new Error(`cannot write undefined as YAML (at ${path || '/'})`);
  return value;
}

/** One YAML document (no `---`), ending with a newline. */
export function toYaml(input: unknown): string {
  const value = normalize(input, '');
  const out: string[] = [];
  if (isObject(value) && Object.keys(value).length > 0) writeMapping(value, 0, out);
  else if (Array.isArray(value) && value.length > 0) writeSequence(value, 0, out);
  else if (isEmptyCollection(value)) out.push(Array.isArray(value) ? '[]' : '{}');
  else if (typeof value === 'string' && literalBlock(value) !== undefined) {
    const block = literalBlock(value)!;
    out.push(block.indicator, ...block.lines.map((line) => (line === '' ? '' : `  ${line}`)));
  } else out.push(scalar(value));
  return `${out.join('\n')}\n`;
}

/** Several documents separated by `---`, after an optional comment header (each line gets `# `). */
export function toYamlDocuments(values: readonly unknown[], header?: string): string {
  const comment =
    header === undefined
      ? ''
      : header
          .split('\n')
          .map((line) => (line === '' ? '#' : `# ${line}`))
          .join('\n') + '\n';
  return comment + values.map(toYaml).join('---\n');
}

/**
 * What the CLI prints. Results go to stdout in one of three formats: `table` (for people; the
 * default when stdout is a terminal), `json` (stable, the default otherwise) and `yaml`.
 * Diagnostics, hints and progress go to stderr, so piping JSON never mixes in anything else.
 */
import { stringify as toYaml } from 'yaml';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The format asked for, or the default for where stdout goes. */
export function outputFormat(requested: string | undefined): OutputFormat {
  if (requested !== undefined) return requested as OutputFormat;
  return process.stdout.isTTY ? 'table' : 'json';
}

export function write(text: string): void {
  process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
}

export function writeErr(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Prints `data` as JSON or YAML, or as `human(data)` for the table format. */
export function emit<T>(format: OutputFormat, data: T, human: (data: T) => string): void {
  switch (format) {
    case 'json':
      write(JSON.stringify(data, null, 2));
      return;
    case 'yaml':
      write(toYaml(data, { lineWidth: 0 }));
      return;
    default:
      write(human(data));
  }
}

/** NO_COLOR (https://no-color.org): present and not empty disables colour. */
export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  const noColor = process.env.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === '');
}

function paint(code: number, text: string): string {
  return colorEnabled() ? `\u001b[${code}m${text}\u001b[0m` : text;
}

export const style = {
  ok: (text: string): string => paint(32, text),
  bad: (text: string): string => paint(31, text),
  warn: (text: string): string => paint(33, text),
  dim: (text: string): string => paint(2, text),
  bold: (text: string): string => paint(1, text),
};

export const MARK = { ok: '✓', fail: '✗', skip: '-' } as const;

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const visibleLength = (text: string): number => text.replace(ANSI, '').length;

/** Columns padded to their widest cell; the last column is never padded. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => style.dim(h))), ...rows.map(line)].join('\n');
}

/** `Label   value` lines, labels aligned; entries with an undefined value are left out. */
export function fields(entries: readonly (readonly [string, string | number | undefined])[]): string {
  const present = entries.filter((e): e is readonly [string, string | number] => e[1] !== undefined);
  const width = Math.max(0, ...present.map(([label]) => label.length));
  return present.map(([label, value]) => `${style.bold(label.padEnd(width))}  ${String(value)}`).join('\n');
}

/** A titled section, e.g. `Grants (3)`, followed by its body or `(none)`. */
export function section(title: string, count: number, body: string): string {
  return `\n${style.bold(`${title} (${count})`)}\n${count === 0 ? style.dim('  (none)') : body}`;
}

/** Indented pretty JSON, for nested values in human output. */
export function indentJson(value: unknown, indent = '  '): string {
  return JSON.stringify(value, null, 2)
    .split('\n')
    .map((l) => indent + l)
    .join('\n');
}

/**
 * A one-line progress indicator on stderr, shown only when stderr is a terminal and the output
 * is for people (never with json/yaml output, which may be piped while stderr is a terminal).
 */
export interface Progress {
  update(text: string): void;
  done(): void;
}

export function progress(format: OutputFormat): Progress {
  const active = process.stderr.isTTY === true && format === 'table';
  let shown = false;
  return {
    update(text) {
      if (!active) return;
      process.stderr.write(`\r\u001b[2K${colorEnabled(process.stderr) ? `\u001b[2m${text}\u001b[0m` : text}`);
      shown = true;
    },
    done() {
      if (active && shown) process.stderr.write('\r\u001b[2K');
      shown = false;
    },
  };
}

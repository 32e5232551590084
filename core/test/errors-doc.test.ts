/**
 * docs/reference/errors.md documents exactly the codes of ERROR_CATALOG (DEVELOPERS.md rule 1):
 * one table row and one section per code, with the catalog's HTTP status, JSON-RPC code and
 * retry default, and no code that the catalog does not have.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, ERROR_CODES } from '../src/errors.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/reference/errors.md', import.meta.url)), 'utf8');
const lines = doc.split('\n');

/** Table rows whose first cell is a code in backticks: `| \`CODE\` | … |`. */
const rows = lines
  .filter((line) => /^\|\s*`[A-Z][A-Z0-9_]*`\s*\|/.test(line))
  .map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim()),
  );
const rowCodes = rows.map((cells) => cells[0]!.replace(/`/g, ''));

/** Section headings of the form `### \`CODE\``. */
const headingCodes = lines
  .map((line) => /^#{2,4}\s+`([A-Z][A-Z0-9_]*)`\s*$/.exec(line)?.[1])
  .filter((code): code is string => code !== undefined);

describe('docs/reference/errors.md', () => {
  it('has a table row for every catalog code', () => {
    expect(ERROR_CODES.filter((code) => !rowCodes.includes(code))).toEqual([]);
  });

  it('has a table row for no code outside the catalog, and no code twice', () => {
    expect(rowCodes.filter((code) => !(ERROR_CODES as string[]).includes(code))).toEqual([]);
    expect(rowCodes.filter((code, i) => rowCodes.indexOf(code) !== i)).toEqual([]);
  });

  it('has a section for every catalog code and for no other', () => {
    expect([...headingCodes].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('states the catalog status, JSON-RPC code and retry default of every code', () => {
    for (const cells of rows) {
      const code = cells[0]!.replace(/`/g, '') as keyof typeof ERROR_CATALOG;
      const spec = ERROR_CATALOG[code];
      expect({ code, status: cells[1], jsonRpc: cells[2], retriable: cells[3] }).toEqual({
        code,
        status: String(spec.status),
        jsonRpc: String(spec.jsonRpc),
        retriable: spec.retriable ? 'yes' : 'no',
      });
    }
  });

  it('mentions no other UPPER_SNAKE code in backticks that looks like an error code', () => {
    // Codes quoted in prose must be catalog codes too (headers and fields are lower case).
    const notCodes = new Set(['ERROR_CATALOG']);
    const quoted = [...doc.matchAll(/`([A-Z][A-Z]+(?:_[A-Z]+)+)`/g)].map((m) => m[1]!);
    expect(
      [...new Set(quoted)].filter((code) => !notCodes.has(code) && !(ERROR_CODES as string[]).includes(code)),
    ).toEqual([]);
  });
});

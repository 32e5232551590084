import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CraError } from '../src/errors.js';
import { parseJsonl, toJsonl } from '../src/trace/jsonl.js';
import type { TraceEvent } from '../src/trace/types.js';
import { verifyChain } from '../src/trace/verify.js';

const vectorsText = readFileSync(fileURLToPath(new URL('./fixtures/trace-vectors.jsonl', import.meta.url)), 'utf8');
const vectors = parseJsonl(vectorsText);

function thrown(fn: () => unknown): CraError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CraError) return err;
    throw err;
  }
  throw new Error('expected a CraError');
}

describe('toJsonl', () => {
  it('writes one compact JSON object per line, LF-terminated', () => {
    const text = toJsonl(vectors);
    const lines = text.split('\n');
    expect(lines).toHaveLength(vectors.length + 1);
    expect(lines.at(-1)).toBe('');
    expect(text).not.toContain('\r');
    lines.slice(0, -1).forEach((line, i) => {
      expect(line).toBe(JSON.stringify(vectors[i]));
      expect(line).not.toMatch(/^\s|\s$/);
    });
  });

  it('writes nothing for no events', () => {
    expect(toJsonl([])).toBe('');
  });

  it('keeps non-ASCII text as UTF-8, not escaped', () => {
    expect(toJsonl(vectors)).toContain('Öffne ein Issue');
  });
});

describe('parseJsonl', () => {
  it('round-trips the spec vectors, hashes intact', () => {
    const again = parseJsonl(toJsonl(vectors));
    expect(again).toEqual(vectors);
    expect(verifyChain(again).valid).toBe(true);
  });

  it('reads the spec vector file as written (spaced JSON)', () => {
    expect(vectors).toHaveLength(3);
    expect(verifyChain(vectors).valid).toBe(true);
  });

  it('skips blank and whitespace-only lines, tolerates CRLF and a BOM, and needs no final newline', () => {
    const lines = toJsonl(vectors).trimEnd().split('\n');
    const text = `\uFEFF\n${lines[0]}\r\n   \r\n\n${lines[1]}\n\t\n${lines[2]}`;
    expect(parseJsonl(text)).toEqual(vectors);
  });

  it('returns no events for empty input', () => {
    expect(parseJsonl('')).toEqual([]);
    expect(parseJsonl('\n\n  \n')).toEqual([]);
  });

  it('names the 1-based line of a malformed line (blank lines counted)', () => {
    const lines = toJsonl(vectors).split('\n');
    const text = [lines[0], '', '{"trace_version": "1.0", oops', lines[1]].join('\n');
    const err = thrown(() => parseJsonl(text));
    expect(err.code).toBe('INVALID_REQUEST');
    expect(err.message).toMatch(/^JSONL line 3: not valid JSON/);
    expect(err.details).toMatchObject({ line: 3 });
  });

  it('rejects a line that is JSON but not an object', () => {
    for (const line of ['[1,2]', '"event"', '42', 'null']) {
      const err = thrown(() => parseJsonl(line));
      expect(err.message).toBe('JSONL line 1: an event must be a JSON object');
    }
  });

  it('names every envelope member that is missing or of the wrong type, as JSON Pointers', () => {
    const { event_hash: _h, ...noHash } = vectors[0] as TraceEvent;
    const bad = { ...noHash, sequence: -1, severity: 'fatal', payload: [], parent_span_id: null };
    const err = thrown(() => parseJsonl(`${JSON.stringify(vectors[0])}\n${JSON.stringify(bad)}\n`));
    expect(err.message).toMatch(/^JSONL line 2: /);
    const paths = (err.details?.['violations'] as { path: string }[]).map((v) => v.path);
    expect(paths).toEqual(['/event_hash', '/sequence', '/severity', '/payload', '/parent_span_id']);
    expect(err.message).toContain('/event_hash is required');
    expect(err.message).toContain('omitted, never null');
  });

  it('rejects tags that are not a map of strings', () => {
    const bad = { ...(vectors[0] as TraceEvent), tags: { a: 1 } };
    const err = thrown(() => parseJsonl(JSON.stringify(bad)));
    expect(err.details?.['violations']).toEqual([
      { path: '/tags', message: expect.stringContaining('object of strings') },
    ]);
  });

  it('does not check hashes: a tampered but well-formed event parses, and verification catches it', () => {
    const tampered = { ...(vectors[1] as TraceEvent), payload: { goal: 'changed' } };
    const events = parseJsonl([vectors[0], tampered, vectors[2]].map((e) => JSON.stringify(e)).join('\n'));
    expect(verifyChain(events).first_failure).toMatchObject({ index: 1, error: 'hash_mismatch' });
  });
});

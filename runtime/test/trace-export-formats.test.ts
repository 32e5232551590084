/**
 * `cra trace export --format`: the streaming JSONL → JSONL/JSON/CSV conversion, whatever the
 * chunking of the input, with RFC 4180 quoting. (The command itself: cli/trace.test.ts.)
 */
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { parseJsonl, toJsonl } from '@cra/core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CSV_COLUMNS, csvField, TraceExportTransform, type ExportFormat } from '../src/cli/trace-formats.js';
import { repo } from './helpers/runtime.js';
import { parseCsv } from './helpers/csv.js';

const EVENTS = parseJsonl(readFileSync(repo('core/test/fixtures/trace-vectors.jsonl'), 'utf8'));
const JSONL = toJsonl(EVENTS);

async function convert(format: ExportFormat, input: string, chunk = 7): Promise<{ out: string; events: number }> {
  const pieces: Buffer[] = [];
  const bytes = Buffer.from(input, 'utf8');
  for (let i = 0; i < bytes.length; i += chunk) pieces.push(bytes.subarray(i, i + chunk));
  const transform = new TraceExportTransform(format);
  const out = await text(Readable.from(pieces).pipe(transform));
  return { out, events: transform.events };
}

describe('TraceExportTransform', () => {
  it('passes JSONL through byte for byte, however the input is cut', async () => {
    for (const chunk of [1, 5, 64, 100_000]) {
      const { out, events } = await convert('jsonl', JSONL, chunk);
      expect(out).toBe(JSONL);
      expect(events).toBe(EVENTS.length);
    }
  });

  it('writes JSON: one array of the events', async () => {
    const { out, events } = await convert('json', JSONL);
    expect(JSON.parse(out)).toEqual(EVENTS);
    expect(events).toBe(EVENTS.length);
    expect((await convert('json', '')).out).toBe('[]\n');
  });

  it('writes CSV: a header, then one CRLF row per event with the payload as JSON text', async () => {
    const { out } = await convert('csv', JSONL, 3);
    const records = parseCsv(out);
    expect(records[0]).toEqual([...CSV_COLUMNS]);
    expect(records).toHaveLength(EVENTS.length + 1);
    records.slice(1).forEach((r, i) => {
      const e = EVENTS[i]!;
      expect(r).toEqual([
        String(e.sequence),
        e.timestamp,
        e.event_type,
        e.severity,
        e.trace_id,
        e.span_id,
        e.parent_span_id ?? '',
        e.event_hash,
        e.previous_event_hash,
        JSON.stringify(e.payload),
      ]);
      expect(JSON.parse(r[9]!)).toEqual(e.payload);
    });
    expect(out.endsWith('\r\n')).toBe(true);
    expect(parseCsv((await convert('csv', '')).out)).toEqual([[...CSV_COLUMNS]]);
  });

  it('quotes fields as RFC 4180 says: commas, quotes and line breaks', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(parseCsv(`${['x,y', 'q"q', 'l\r\nm'].map(csvField).join(',')}\r\n`)).toEqual([['x,y', 'q"q', 'l\r\nm']]);
  });

  it('fails on a line that is not JSON (CSV needs the event)', async () => {
    await expect(convert('csv', `${JSONL}{nope\n`)).rejects.toThrow(/JSON/);
  });
});

/**
 * Formats of `cra trace export`: the runtime sends JSONL; this turns it, line by line as it
 * streams, into JSONL (unchanged), JSON (one array of events) or CSV (RFC 4180: a header, then one
 * row per event with the envelope columns and the payload as JSON text, CRLF line ends).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { TraceEvent } from '@cra/core';

export const EXPORT_FORMATS = ['jsonl', 'json', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const CSV_COLUMNS = [
  'sequence',
  'timestamp',
  'event_type',
  'severity',
  'trace_id',
  'span_id',
  'parent_span_id',
  'event_hash',
  'previous_event_hash',
  'payload',
] as const;

/** RFC 4180 §2: a field with a comma, a double quote, CR or LF is quoted, quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvRecord(fields: readonly string[]): string {
  return `${fields.map(csvField).join(',')}\r\n`;
}

export function csvRow(event: TraceEvent): string {
  return csvRecord([
    String(event.sequence),
    event.timestamp,
    event.event_type,
    event.severity,
    event.trace_id,
    event.span_id,
    event.parent_span_id ?? '',
    event.event_hash,
    event.previous_event_hash,
    JSON.stringify(event.payload),
  ]);
}

/** JSONL in (any chunking), the chosen format out; counts the events. */
export class TraceExportTransform extends Transform {
  /** Events written so far. */
  events = 0;
  private rest = '';
  /** A character split between two chunks is decoded once both have arrived. */
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly format: ExportFormat) {
    super();
    this.setEncoding('utf8');
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, done: TransformCallback): void {
    const text = this.rest + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    try {
      for (const line of lines) this.line(line);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    try {
      const rest = this.rest + this.decoder.end();
      if (rest !== '') this.line(rest);
      if (this.format === 'json') this.push(this.events === 0 ? '[]\n' : '\n]\n');
      if (this.format === 'csv' && this.events === 0) this.push(csvRecord(CSV_COLUMNS));
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  }

  private line(raw: string): void {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const first = this.events === 0;
    this.events += 1;
    switch (this.format) {
      case 'jsonl':
        this.push(`${line}\n`);
        return;
      case 'json':
        // Compact events, one per line: valid JSON that `cra trace diff` also reads.
        this.push(`${first ? '[\n' : ',\n'}${line}`);
        return;
      case 'csv':
        this.push(`${first ? csvRecord(CSV_COLUMNS) : ''}${csvRow(JSON.parse(line) as TraceEvent)}`);
        return;
    }
  }
}

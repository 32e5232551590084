import { describe, expect, it } from 'vitest';
import { isoTime, isUuidV7, randomIds } from '../src/index.js';
import { SPAN_ID_PATTERN, TRACE_ID_PATTERN } from '../src/ids.js';

describe('randomIds', () => {
  it('mints distinct, well-formed UUIDv7s that sort in minting order, across pool refills', () => {
    // 2,000 ids: the 4 KiB random pool is refilled several times along the way.
    const ids = Array.from({ length: 2000 }, () => randomIds.uuid());
    for (const id of ids) expect(isUuidV7(id), id).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('puts the current time in the UUIDv7 timestamp', () => {
    const before = Date.now();
    const id = randomIds.uuid();
    const after = Date.now();
    const msecs = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    // Within one millisecond the counter may carry into the next one.
    expect(msecs).toBeGreaterThanOrEqual(before);
    expect(msecs).toBeLessThanOrEqual(after + 1);
  });

  it('mints W3C trace and span ids that differ from each other and from the uuids', () => {
    const traces = Array.from({ length: 600 }, () => randomIds.traceId());
    const spans = Array.from({ length: 600 }, () => randomIds.spanId());
    for (const t of traces) expect(t).toMatch(new RegExp(TRACE_ID_PATTERN));
    for (const s of spans) expect(s).toMatch(new RegExp(SPAN_ID_PATTERN));
    expect(new Set(traces).size).toBe(traces.length);
    expect(new Set(spans).size).toBe(spans.length);
  });

  it('hands out no random bytes twice: random parts of consecutive ids never repeat', () => {
    const tails = Array.from({ length: 1000 }, () => randomIds.uuid().slice(-12));
    expect(new Set(tails).size).toBe(tails.length);
  });
});

describe('isoTime', () => {
  it('formats epoch milliseconds, the same instant twice in a row included, and refuses an invalid time', () => {
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoTime(1_700_000_000_123)).toBe('2023-11-14T22:13:20.123Z');
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(() => isoTime(NaN)).toThrow(RangeError);
    expect(() => isoTime(NaN)).toThrow(RangeError);
  });
});

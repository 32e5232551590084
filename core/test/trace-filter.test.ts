import { describe, expect, it } from 'vitest';
import { CraError } from '../src/errors.js';
import { sealEvents } from '../src/trace/chain.js';
import { compileEventFilter, eventTypeMatcher, filterEvents, type EventFilter } from '../src/trace/filter.js';
import type { EventDraft, Severity, TraceEvent } from '../src/trace/types.js';

function draft(event_type: string, severity: Severity, ms: number, session = 'sess-a'): EventDraft {
  return {
    trace_version: '1.0',
    event_id: `018f6b1c-0000-7000-8000-${ms.toString(16).padStart(12, '0')}`,
    trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
    span_id: '00f067aa0ba902b7',
    session_id: session,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms)).toISOString(),
    event_type,
    severity,
    source: { component: 'cra-runtime', version: '1.0.0', instance_id: 'r0' },
    payload: {},
  };
}

const sessionA = sealEvents(null, [
  draft('session.started', 'info', 0),
  draft('carp.request.received', 'debug', 10),
  draft('carp.resolution.completed', 'info', 20),
  draft('carp.action.failed', 'error', 30),
  draft('carp.action.approval.pending', 'warn', 40),
  draft('custom.audit.note', 'debug', 50),
]);
const sessionB = sealEvents(null, [
  draft('session.started', 'info', 5, 'sess-b'),
  draft('error.internal', 'error', 35, 'sess-b'),
]);
const all: TraceEvent[] = [...sessionA, ...sessionB];

const types = (events: readonly TraceEvent[]) => events.map((e) => e.event_type);

function invalid(filter: EventFilter): CraError {
  try {
    compileEventFilter(filter);
  } catch (err) {
    if (err instanceof CraError) return err;
    throw err;
  }
  throw new Error('expected the filter to be rejected');
}

describe('filterEvents', () => {
  it('passes everything through an empty filter, order kept', () => {
    expect(filterEvents(all, {})).toEqual(all);
    expect(filterEvents(all)).toEqual(all);
  });

  it('filters by session', () => {
    expect(filterEvents(all, { session_id: 'sess-b' })).toEqual(sessionB);
  });

  it('matches event types by anchored glob, `*` spanning dots', () => {
    expect(types(filterEvents(sessionA, { event_types: ['carp.*'] }))).toEqual([
      'carp.request.received',
      'carp.resolution.completed',
      'carp.action.failed',
      'carp.action.approval.pending',
    ]);
    expect(types(filterEvents(sessionA, { event_types: ['*.pending', 'session.started'] }))).toEqual([
      'session.started',
      'carp.action.approval.pending',
    ]);
    expect(types(filterEvents(sessionA, { event_types: ['carp.action.*.pending'] }))).toEqual([
      'carp.action.approval.pending',
    ]);
    // anchored: no substring matches
    expect(filterEvents(sessionA, { event_types: ['action'] })).toEqual([]);
    expect(filterEvents(sessionA, { event_types: ['carp.action'] })).toEqual([]);
    // `.` is literal, not "any character"
    expect(filterEvents(sessionA, { event_types: ['session?started', 'sessionXstarted'] })).toEqual([]);
    expect(filterEvents(sessionA, { event_types: [] })).toEqual([]);
  });

  it('keeps events at or above a minimum severity (debug < info < warn < error)', () => {
    expect(filterEvents(sessionA, { min_severity: 'debug' })).toHaveLength(6);
    expect(types(filterEvents(sessionA, { min_severity: 'warn' }))).toEqual([
      'carp.action.failed',
      'carp.action.approval.pending',
    ]);
    expect(types(filterEvents(sessionA, { min_severity: 'error' }))).toEqual(['carp.action.failed']);
  });

  it('resumes from a sequence number, inclusive', () => {
    expect(filterEvents(sessionA, { from_sequence: 4 }).map((e) => e.sequence)).toEqual([4, 5]);
    expect(filterEvents(sessionA, { from_sequence: 0 })).toHaveLength(6);
    expect(filterEvents(sessionA, { from_sequence: 99 })).toEqual([]);
  });

  it('bounds by time, both ends inclusive, zones honoured', () => {
    const window = filterEvents(sessionA, { from: '2026-01-01T00:00:00.010Z', to: '2026-01-01T00:00:00.030Z' });
    expect(window.map((e) => e.sequence)).toEqual([1, 2, 3]);
    expect(filterEvents(sessionA, { from: '2026-01-01T01:00:00.040+01:00' }).map((e) => e.sequence)).toEqual([4, 5]);
    expect(filterEvents(sessionA, { to: '2026-01-01' }).map((e) => e.sequence)).toEqual([0]);
  });

  it('excludes events whose timestamp does not parse when a time bound is set', () => {
    const odd = { ...(sessionA[0] as TraceEvent), timestamp: 'yesterday' };
    expect(filterEvents([odd], { from: '2000-01-01T00:00:00Z' })).toEqual([]);
    expect(filterEvents([odd], {})).toEqual([odd]);
  });

  it('combines criteria with AND and applies the limit last', () => {
    const filter: EventFilter = { event_types: ['carp.*', 'session.*'], min_severity: 'info', from_sequence: 1 };
    expect(types(filterEvents(all, filter))).toEqual([
      'carp.resolution.completed',
      'carp.action.failed',
      'carp.action.approval.pending',
    ]);
    expect(types(filterEvents(all, { ...filter, limit: 2 }))).toEqual([
      'carp.resolution.completed',
      'carp.action.failed',
    ]);
    expect(filterEvents(all, { limit: 0 })).toEqual([]);
  });
});

describe('compileEventFilter', () => {
  it('is a reusable predicate for live streams (limit is not part of it)', () => {
    const accept = compileEventFilter({ session_id: 'sess-a', event_types: ['carp.action.*'], limit: 1 });
    expect(all.filter(accept).map((e) => e.event_type)).toEqual(['carp.action.failed', 'carp.action.approval.pending']);
    expect(accept(sessionB[1] as TraceEvent)).toBe(false);
  });

  it('rejects bad members with INVALID_REQUEST naming them', () => {
    const cases: [EventFilter, string][] = [
      [{ min_severity: 'fatal' as Severity }, '/min_severity'],
      [{ from_sequence: -1 }, '/from_sequence'],
      [{ from_sequence: 1.5 }, '/from_sequence'],
      [{ from: 'last tuesday' }, '/from'],
      [{ to: '2026-13-45T99:00:00Z' }, '/to'],
      [{ to: '2026-01-01T00:00:00' }, '/to'],
      [{ limit: -2 }, '/limit'],
      [{ event_types: ['carp.*', ''] }, '/event_types/1'],
      [{ event_types: 'carp.*' as unknown as string[] }, '/event_types'],
    ];
    for (const [filter, path] of cases) {
      const err = invalid(filter);
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.details?.['violations']).toEqual([{ path, message: expect.any(String) }]);
      expect(err.message).toContain(path);
    }
  });
});

describe('eventTypeMatcher', () => {
  it('treats regex metacharacters literally', () => {
    const match = eventTypeMatcher(['custom.a+b(c)', 'custom.[x]*']);
    expect(match('custom.a+b(c)')).toBe(true);
    expect(match('custom.aab(c)')).toBe(false);
    expect(match('custom.[x].anything')).toBe(true);
  });
  it('`*` alone matches every type, including the empty string', () => {
    const match = eventTypeMatcher(['*']);
    expect(['', 'session.started', 'custom.x.y'].every(match)).toBe(true);
  });
});

/**
 * The trace viewer's pure parts, in Node: the event filter, the span hierarchy, the time axis
 * and reading a trace file. (The pages themselves are tested in chromium: ui-browser.test.ts.)
 */
import { readFileSync } from 'node:fs';
import { parseJsonl, type TraceEvent } from '@cra/core';
import { describe, expect, it } from 'vitest';
import { filterEvents, isFiltering, NO_FILTER } from '../src/ui/model/filter.js';
import { buildSpanTree, treeDepth } from '../src/ui/model/spans.js';
import { formatDuration, timeScale } from '../src/ui/model/time.js';
import { parseTraceText } from '../src/ui/model/trace-text.js';
import { repo } from './helpers/runtime.js';

const VECTORS = parseJsonl(readFileSync(repo('core/test/fixtures/trace-vectors.jsonl'), 'utf8'));

let n = 0;
function event(over: Partial<TraceEvent> & Pick<TraceEvent, 'event_type'>): TraceEvent {
  const sequence = n++;
  return {
    trace_version: '1.0',
    event_id: `e${sequence}`,
    trace_id: 't1',
    span_id: 's1',
    session_id: 'session',
    sequence,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, sequence * 10)).toISOString(),
    severity: 'info',
    source: { component: 'cra-runtime', version: '1.0.0', instance_id: 'test' },
    payload: {},
    previous_event_hash: '0'.repeat(64),
    event_hash: `h${sequence}`,
    ...over,
  };
}

describe('filterEvents', () => {
  const events = [
    event({ event_type: 'carp.policy.evaluation.started' }),
    event({ event_type: 'carp.policy.rule.matched', severity: 'debug' }),
    event({ event_type: 'carp.action.failed', severity: 'error', payload: { message: 'Upstream said NO' } }),
    event({ event_type: 'error.validation', severity: 'warn', tags: { region: 'eu-west' } }),
  ];

  it('keeps everything without a filter', () => {
    expect(filterEvents(events, NO_FILTER)).toEqual(events);
    expect(isFiltering(NO_FILTER)).toBe(false);
  });

  it('filters by type prefix, or by glob when the text has a *', () => {
    expect(filterEvents(events, { ...NO_FILTER, typePrefix: 'carp.policy' })).toEqual(events.slice(0, 2));
    expect(filterEvents(events, { ...NO_FILTER, typePrefix: '*.failed' })).toEqual([events[2]]);
    expect(filterEvents(events, { ...NO_FILTER, typePrefix: 'carp.*.matched' })).toEqual([events[1]]);
  });

  it('filters by lowest severity', () => {
    expect(filterEvents(events, { ...NO_FILTER, minSeverity: 'warn' })).toEqual([events[2], events[3]]);
    expect(filterEvents(events, { ...NO_FILTER, minSeverity: 'debug' })).toEqual(events);
  });

  it('searches payload, tags and ids case-insensitively, and combines criteria', () => {
    expect(filterEvents(events, { ...NO_FILTER, text: 'upstream said no' })).toEqual([events[2]]);
    expect(filterEvents(events, { ...NO_FILTER, text: 'EU-WEST' })).toEqual([events[3]]);
    expect(filterEvents(events, { ...NO_FILTER, text: events[1]!.event_id })).toEqual([events[1]]);
    expect(filterEvents(events, { typePrefix: 'carp.', minSeverity: 'warn', text: 'no' })).toEqual([events[2]]);
  });
});

describe('buildSpanTree', () => {
  it('nests spans under their parent, keeps unknown parents at the top, and names spans by operation', () => {
    const events = [
      event({ event_type: 'session.started', trace_id: 'T', span_id: 'A', parent_span_id: 'outside' }),
      event({ event_type: 'carp.request.received', trace_id: 'T', span_id: 'A', payload: { operation: 'resolve' } }),
      event({
        event_type: 'carp.action.requested',
        trace_id: 'T',
        span_id: 'B',
        parent_span_id: 'A',
        payload: { operation: 'execute' },
      }),
      event({ event_type: 'carp.action.failed', trace_id: 'T', span_id: 'C', parent_span_id: 'B', severity: 'error' }),
      event({ event_type: 'session.ended', trace_id: 'U', span_id: 'D' }),
    ];
    const [t, u] = buildSpanTree(events);
    expect(t!.traceId).toBe('T');
    expect(t!.spanCount).toBe(3);
    expect(t!.eventCount).toBe(4);
    const [a] = t!.roots;
    expect(a).toMatchObject({ spanId: 'A', name: 'resolve', externalParent: true, parentSpanId: 'outside' });
    expect(a!.events).toHaveLength(2);
    expect(a!.children.map((c) => c.spanId)).toEqual(['B']);
    expect(a!.children[0]!.children.map((c) => c.spanId)).toEqual(['C']);
    expect(a!.children[0]!.children[0]!.worstSeverity).toBe('error');
    expect(treeDepth(t!.roots)).toBe(3);
    expect(t!.end - t!.start).toBe(30);
    expect(u!.roots.map((r) => [r.spanId, r.externalParent])).toEqual([['D', false]]);
  });

  it('never loops on spans that name each other as parent', () => {
    const events = [
      event({ event_type: 'x.one', span_id: 'P', parent_span_id: 'Q' }),
      event({ event_type: 'x.two', span_id: 'Q', parent_span_id: 'P' }),
    ];
    const [trace] = buildSpanTree(events);
    expect(trace!.spanCount).toBe(2);
    expect(treeDepth(trace!.roots)).toBe(2);
  });

  it('groups the spec’s trace vectors by their spans', () => {
    const traces = buildSpanTree(VECTORS);
    expect(traces.reduce((sum, t) => sum + t.eventCount, 0)).toBe(VECTORS.length);
  });
});

describe('the time axis', () => {
  it('places instants between the first and the last event', () => {
    const scale = timeScale([1000, 1500, 3000]);
    expect(scale.position(1000)).toBe(0);
    expect(scale.position(2000)).toBe(0.5);
    expect(scale.position(3000)).toBe(1);
    expect(scale.ticks(2).map((t) => t.label)).toEqual(['+0 ms', '+1.00 s', '+2.00 s']);
    expect(timeScale([5, 5]).position(5)).toBe(0);
  });

  it('labels durations for people', () => {
    expect([0, 350, 2410, 15_000, 185_000, 3_900_000].map(formatDuration)).toEqual([
      '0 ms',
      '350 ms',
      '2.41 s',
      '15.0 s',
      '3 min 05 s',
      '1 h 05 min',
    ]);
  });
});

describe('parseTraceText', () => {
  it('reads JSONL and JSON arrays of events, and names a bad line', () => {
    const jsonl = readFileSync(repo('core/test/fixtures/trace-vectors.jsonl'), 'utf8');
    expect(parseTraceText(jsonl)).toEqual(VECTORS);
    expect(parseTraceText(JSON.stringify(VECTORS))).toEqual(VECTORS);
    expect(() => parseTraceText('{nope')).toThrow(/JSONL line 1/);
    expect(() => parseTraceText('[{"sequence": 1}]')).toThrow(/event 0 has no event_type/);
  });
});

import { describe, expect, it } from 'vitest';
import { CraError } from '../src/errors.js';
import { sequentialIds } from '../src/ids.js';
import { sealEvents } from '../src/trace/chain.js';
import {
  compareWithGolden,
  goldenFingerprint,
  normalizeForGolden,
  parseGolden,
  serializeGolden,
} from '../src/trace/golden.js';
import type { EventDraft, TraceEvent } from '../src/trace/types.js';

interface Step {
  event_type: string;
  payload: Record<string, unknown>;
}

const STEPS: Step[] = [
  { event_type: 'session.started', payload: { agent_id: 'agent-a' } },
  { event_type: 'carp.request.received', payload: { operation: 'resolve', goal: 'Öffne ein Issue' } },
  {
    event_type: 'carp.resolution.completed',
    payload: {
      decision_type: 'allow',
      grants: [{ id: 'create_issue', action_type: 'api.github.create_issue' }],
      context_blocks_count: 1,
    },
  },
];

/** A run of the scenario: fresh ids, times, durations and runtime identity. */
function run(steps: readonly Step[], n: number): TraceEvent[] {
  const ids = sequentialIds(n * 100);
  const session = ids.uuid();
  const drafts: EventDraft[] = steps.map((step, i) => ({
    trace_version: '1.0',
    event_id: ids.uuid(),
    trace_id: ids.traceId(),
    span_id: ids.spanId(),
    session_id: session,
    timestamp: new Date(Date.UTC(2026, 0, 1) + n * 1000 + i).toISOString(),
    event_type: step.event_type,
    severity: 'info',
    source: { component: 'cra-runtime', version: `1.${n}.0`, instance_id: `pod-${n}` },
    payload: {
      ...step.payload,
      request_id: ids.uuid(),
      duration_ms: n + i,
      ...(step.payload['grants']
        ? {
            grants: (step.payload['grants'] as object[]).map((g) => ({
              ...g,
              action_id: ids.uuid(),
              valid_until: new Date(Date.UTC(2026, 0, 1, 0, 5) + n).toISOString(),
            })),
            resolution_expires_at: new Date(Date.UTC(2026, 0, 1, 0, 5) + n).toISOString(),
          }
        : {}),
    },
  }));
  return sealEvents(null, drafts);
}

describe('normalizeForGolden', () => {
  it('drops volatile members at every depth and keeps the rest', () => {
    const [started, , completed] = normalizeForGolden(run(STEPS, 1));
    expect(started).toEqual({
      event_type: 'session.started',
      payload: { agent_id: 'agent-a' },
      severity: 'info',
      source: { component: 'cra-runtime' },
      trace_version: '1.0',
    });
    expect(completed?.['payload']).toEqual({
      context_blocks_count: 1,
      decision_type: 'allow',
      grants: [{ action_type: 'api.github.create_issue', id: 'create_issue' }],
    });
  });

  it('is byte-stable across runs: two recordings give the same golden file', () => {
    expect(serializeGolden(run(STEPS, 1))).toBe(serializeGolden(run(STEPS, 7)));
  });

  it('writes a human-diffable file: pretty JSON, event_type first, sorted keys, trailing newline', () => {
    const text = serializeGolden(run(STEPS, 1));
    expect(text.endsWith('}\n]\n')).toBe(true);
    expect(text).toContain('\n    "event_type": "session.started",\n    "payload": {');
    expect(text).toContain('Öffne ein Issue');
  });

  it('honours the diff options: extra ignores and ignored event types', () => {
    const normalized = normalizeForGolden(run(STEPS, 1), { ignore: ['goal'], ignoreEventTypes: ['session.*'] });
    expect(normalized.map((e) => e.event_type)).toEqual(['carp.request.received', 'carp.resolution.completed']);
    expect(normalized[0]?.['payload']).toEqual({ operation: 'resolve' });
  });

  it('never mutates its input, and handles a `__proto__` key as data', () => {
    const events = run(STEPS, 1);
    const payload = JSON.parse('{"__proto__": {"polluted": true}, "x": 1}') as Record<string, unknown>;
    const withProto = [{ ...(events[0] as TraceEvent), payload }];
    const snapshot = JSON.stringify(withProto);
    const [out] = normalizeForGolden(withProto);
    expect(JSON.stringify(withProto)).toBe(snapshot);
    expect(Object.keys(out?.['payload'] as object)).toEqual(['__proto__', 'x']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('compareWithGolden', () => {
  const golden = parseGolden(serializeGolden(run(STEPS, 1)));

  it('passes a fresh run of the same scenario: identical', () => {
    const result = compareWithGolden(golden, run(STEPS, 2));
    expect(result.passed).toBe(true);
    expect(result.diff.compatibility).toBe('identical');
  });

  it('passes a compatible run by default, fails it with failOn: compatible', () => {
    const steps = STEPS.map((s, i) => (i === 1 ? { ...s, payload: { ...s.payload, client: 'cli' } } : s));
    const lenient = compareWithGolden(golden, run(steps, 2));
    expect(lenient).toMatchObject({ passed: true, diff: { compatibility: 'compatible' } });
    expect(compareWithGolden(golden, run(steps, 2), { failOn: 'compatible' }).passed).toBe(false);
  });

  it('fails a breaking run: changed decision, missing event', () => {
    const denied = STEPS.map((s, i) => (i === 2 ? { ...s, payload: { ...s.payload, decision_type: 'deny' } } : s));
    const result = compareWithGolden(golden, run(denied, 2));
    expect(result.passed).toBe(false);
    expect(result.diff.differences).toEqual([
      expect.objectContaining({ path: 'events[2].payload.decision_type', expected: 'allow', actual: 'deny' }),
    ]);
    expect(compareWithGolden(golden, run(STEPS.slice(0, 2), 2)).passed).toBe(false);
  });
});

describe('goldenFingerprint', () => {
  const events = run(STEPS, 1);

  it('is 16 lowercase hex characters and deterministic', () => {
    const fp = goldenFingerprint(events);
    expect(fp).toMatch(/^[0-9a-f]{16}$/);
    expect(goldenFingerprint(run(STEPS, 1))).toBe(fp);
  });

  it('is the same for a trace, another run of it, and its normalized golden', () => {
    const fp = goldenFingerprint(events);
    expect(goldenFingerprint(run(STEPS, 5))).toBe(fp);
    expect(goldenFingerprint(normalizeForGolden(events))).toBe(fp);
  });

  it('ignores payload values but not payload keys, types or severities', () => {
    const fp = goldenFingerprint(events);
    const otherValue = STEPS.map((s, i) => (i === 1 ? { ...s, payload: { ...s.payload, goal: 'x' } } : s));
    expect(goldenFingerprint(run(otherValue, 1))).toBe(fp);
    const otherKey = STEPS.map((s, i) => (i === 1 ? { ...s, payload: { ...s.payload, extra: 1 } } : s));
    expect(goldenFingerprint(run(otherKey, 1))).not.toBe(fp);
    const otherType = STEPS.map((s, i) => (i === 0 ? { ...s, event_type: 'session.ended' } : s));
    expect(goldenFingerprint(run(otherType, 1))).not.toBe(fp);
    const warn = events.map((e, i) => (i === 0 ? { ...e, severity: 'warn' as const } : e));
    expect(goldenFingerprint(warn)).not.toBe(fp);
    expect(goldenFingerprint(events.slice(0, 2))).not.toBe(fp);
  });
});

describe('parseGolden', () => {
  function invalid(text: string): CraError {
    try {
      parseGolden(text);
    } catch (err) {
      if (err instanceof CraError) return err;
      throw err;
    }
    throw new Error('expected rejection');
  }

  it('round-trips serializeGolden', () => {
    expect(parseGolden(serializeGolden(run(STEPS, 1)))).toEqual(normalizeForGolden(run(STEPS, 1)));
  });

  it('names the JSON Pointer of a bad entry', () => {
    expect(invalid('{').message).toMatch(/not valid JSON/);
    expect(invalid('{}').details?.['violations']).toEqual([{ path: '', message: expect.stringContaining('array') }]);
    expect(invalid('[{"event_type":"a"}, 3]').details?.['violations']).toEqual([
      { path: '/1', message: 'must be an object' },
    ]);
    expect(invalid('[{"event_type":"a"}, {"payload":{}}]').details?.['violations']).toEqual([
      { path: '/1/event_type', message: 'must be a string' },
    ]);
  });
});

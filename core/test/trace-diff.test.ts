import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sequentialIds } from '../src/ids.js';
import { sealEvents } from '../src/trace/chain.js';
import { diffTraces, lcsAlign, type DiffableEvent, type TraceDiff } from '../src/trace/diff.js';
import type { EventDraft, Severity, TraceEvent } from '../src/trace/types.js';

// ---------------------------------------------------------------------------------------------
// Fixture builder: one resolve + execute scenario, recorded as a fresh run each time (new ids,
// times and durations), optionally modified.

interface Step {
  event_type: string;
  severity?: Severity;
  payload: Record<string, unknown>;
}

type Modifier = (steps: Step[]) => Step[];

function scenario(...modifiers: Modifier[]): Step[] {
  const steps: Step[] = [
    { event_type: 'session.started', payload: { agent_id: 'agent-a', agent_type: 'custom' } },
    {
      event_type: 'carp.request.received',
      payload: { operation: 'resolve', goal: 'open an issue', risk_tier: 'low' },
    },
    {
      event_type: 'carp.policy.evaluation.completed',
      payload: { evaluated: 5, matched: 2 },
    },
    {
      event_type: 'carp.resolution.completed',
      payload: {
        decision_type: 'allow',
        grants: [{ id: 'create_issue', action_type: 'api.github.create_issue', requires_approval: false }],
        denied_actions: [],
        context_blocks_count: 2,
      },
    },
    {
      event_type: 'carp.action.completed',
      payload: { action_type: 'api.github.create_issue', status: 'completed', output_hash: 'ab'.repeat(32) },
    },
  ];
  return modifiers.reduce((acc, modify) => modify(acc), steps);
}

/** Records steps as a real run would: fresh ids, a different clock, volatile payload members. */
function record(steps: readonly Step[], run: number): TraceEvent[] {
  const ids = sequentialIds(run * 1000);
  const start = Date.UTC(2026, 0, 1) + run * 3_600_000;
  const session = ids.uuid();
  const trace = ids.traceId();
  const requestId = ids.uuid();
  const resolutionId = ids.uuid();
  const drafts: EventDraft[] = steps.map((step, i) => ({
    trace_version: '1.0',
    event_id: ids.uuid(),
    trace_id: trace,
    span_id: ids.spanId(),
    ...(i > 0 ? { parent_span_id: ids.spanId() } : {}),
    session_id: session,
    timestamp: new Date(start + i * (run + 3)).toISOString(),
    event_type: step.event_type,
    severity: step.severity ?? 'info',
    source: { component: 'cra-runtime', version: `1.0.${run}`, instance_id: `runtime-${run}` },
    payload: withVolatile(step.payload, { requestId, resolutionId, run, ids }),
  }));
  return sealEvents(null, drafts);
}

function withVolatile(
  payload: Record<string, unknown>,
  v: { requestId: string; resolutionId: string; run: number; ids: ReturnType<typeof sequentialIds> },
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...payload, request_id: v.requestId, duration_ms: 1.5 * (v.run + 1) };
  if ('decision_type' in payload) {
    out['resolution_id'] = v.resolutionId;
    out['resolution_expires_at'] = new Date(Date.UTC(2026, 0, 1, 0, 5) + v.run).toISOString();
    out['grants'] = (payload['grants'] as Record<string, unknown>[]).map((g) => ({
      ...g,
      action_id: v.ids.uuid(),
      valid_until: new Date(Date.UTC(2026, 0, 1, 0, 5) + v.run).toISOString(),
    }));
  }
  if ('evaluated' in payload) out['evaluation_time_ms'] = 0.1 * (v.run + 1);
  return out;
}

const at =
  (index: number, change: (step: Step) => Step): Modifier =>
  (steps) =>
    steps.map((s, i) => (i === index ? change(s) : s));
const setPayload = (index: number, patch: Record<string, unknown>): Modifier =>
  at(index, (s) => ({ ...s, payload: { ...s.payload, ...patch } }));
const dropKey = (index: number, key: string): Modifier =>
  at(index, (s) => {
    const { [key]: _dropped, ...payload } = s.payload;
    return { ...s, payload };
  });
const insert =
  (index: number, step: Step): Modifier =>
  (steps) => [...steps.slice(0, index), step, ...steps.slice(index)];
const remove =
  (index: number): Modifier =>
  (steps) =>
    steps.filter((_s, i) => i !== index);

const baseline = record(scenario(), 1);
const diffWith = (...modifiers: Modifier[]): TraceDiff => diffTraces(baseline, record(scenario(...modifiers), 2));

// ---------------------------------------------------------------------------------------------

describe('diffTraces: identical', () => {
  it('two runs of the same scenario are identical: ids, times, hashes, durations, runtime identity ignored', () => {
    const diff = diffWith();
    expect(diff).toEqual({
      compatibility: 'identical',
      summary: { events_added: 0, events_removed: 0, events_retyped: 0, events_modified: 0, events_compared: 5 },
      differences: [],
    });
  });

  it('two empty traces are identical', () => {
    expect(diffTraces([], []).compatibility).toBe('identical');
  });

  it('never mutates its inputs', () => {
    const expected = record(scenario(), 1);
    const actual = record(scenario(setPayload(1, { goal: 'other' })), 2);
    const snapshot = JSON.stringify([expected, actual]);
    diffTraces(expected, actual);
    expect(JSON.stringify([expected, actual])).toBe(snapshot);
  });
});

describe('diffTraces: breaking', () => {
  it('a missing event, at its expected index', () => {
    const diff = diffWith(remove(2));
    expect(diff.compatibility).toBe('breaking');
    expect(diff.summary).toMatchObject({ events_removed: 1, events_added: 0, events_compared: 4 });
    expect(diff.differences).toEqual([
      {
        kind: 'removed',
        path: 'events[2]',
        expected_index: 2,
        event_type: 'carp.policy.evaluation.completed',
        severity: 'error',
        message: expect.stringContaining('missing from the actual trace'),
      },
    ]);
  });

  it('an extra event, at its actual index, without shifting the comparison of later events', () => {
    const diff = diffWith(insert(3, { event_type: 'carp.policy.rule.matched', payload: { rule: 'x' } }));
    expect(diff.compatibility).toBe('breaking');
    expect(diff.summary).toMatchObject({ events_added: 1, events_removed: 0, events_modified: 0, events_compared: 5 });
    expect(diff.differences).toEqual([
      expect.objectContaining({
        kind: 'added',
        path: 'events[3]',
        actual_index: 3,
        event_type: 'carp.policy.rule.matched',
      }),
    ]);
  });

  it('a re-typed event (removed and added in the same alignment gap)', () => {
    const diff = diffWith(at(4, (s) => ({ ...s, event_type: 'carp.action.failed', severity: 'error' })));
    expect(diff.compatibility).toBe('breaking');
    expect(diff.summary).toMatchObject({ events_retyped: 1, events_added: 0, events_removed: 0, events_compared: 4 });
    expect(diff.differences).toEqual([
      {
        kind: 'retyped',
        path: 'events[4].event_type',
        expected_index: 4,
        actual_index: 4,
        event_type: 'carp.action.completed',
        expected: 'carp.action.completed',
        actual: 'carp.action.failed',
        severity: 'error',
        message: expect.any(String),
      },
    ]);
  });

  it('a changed decision', () => {
    const diff = diffWith(setPayload(3, { decision_type: 'deny' }));
    expect(diff.compatibility).toBe('breaking');
    expect(diff.differences).toEqual([
      {
        kind: 'modified',
        path: 'events[3].payload.decision_type',
        expected_index: 3,
        actual_index: 3,
        event_type: 'carp.resolution.completed',
        expected: 'allow',
        actual: 'deny',
        severity: 'error',
        message: 'carp.resolution.completed: payload.decision_type changed from "allow" to "deny"',
      },
    ]);
  });

  it('a changed grant: anything inside `grants` is significant, volatile members inside still ignored', () => {
    const changed = diffWith(
      setPayload(3, {
        grants: [{ id: 'create_issue', action_type: 'api.github.delete_repo', requires_approval: false }],
      }),
    );
    expect(changed.compatibility).toBe('breaking');
    expect(changed.differences.map((d) => [d.path, d.severity])).toEqual([
      ['events[3].payload.grants[0].action_type', 'error'],
    ]);

    const extraGrant = diffWith(
      setPayload(3, {
        grants: [
          { id: 'create_issue', action_type: 'api.github.create_issue', requires_approval: false },
          { id: 'add_label', action_type: 'api.github.add_label', requires_approval: false },
        ],
      }),
    );
    expect(extraGrant.differences).toEqual([
      expect.objectContaining({ kind: 'added', path: 'events[3].payload.grants[1]', severity: 'error' }),
    ]);

    const approval = diffWith(
      setPayload(3, {
        grants: [{ id: 'create_issue', action_type: 'api.github.create_issue', requires_approval: true }],
      }),
    );
    expect(approval.compatibility).toBe('breaking');
  });

  it('a new denial', () => {
    const diff = diffWith(setPayload(3, { denied_actions: [{ action_type: 'api.github.delete_repo', reason: 'no' }] }));
    expect(diff.compatibility).toBe('breaking');
    expect(diff.differences[0]).toMatchObject({ kind: 'added', path: 'events[3].payload.denied_actions[0]' });
  });

  it.each([
    ['error_code', 'TIMEOUT', 'EXECUTION_FAILED'],
    ['code', 'RATE_LIMITED', 'FORBIDDEN'],
    ['status', 'completed', 'failed'],
    ['effect', 'allow', 'deny'],
    ['allowed', true, false],
    ['policy_refs', ['p1'], ['p2']],
    ['decision', 'allow', 'requires_approval'],
    ['allowed_action_types', ['a'], ['a', 'b']],
  ])('a changed %s', (key, before, after) => {
    const expected = record(scenario(setPayload(4, { [key]: before })), 1);
    const actual = record(scenario(setPayload(4, { [key]: after })), 2);
    const diff = diffTraces(expected, actual);
    expect(diff.compatibility).toBe('breaking');
    expect(diff.differences.every((d) => d.severity === 'error')).toBe(true);
  });

  it('a significant member that appears or disappears (an error code is now reported)', () => {
    expect(diffWith(setPayload(4, { error_code: 'TIMEOUT' })).differences).toEqual([
      expect.objectContaining({ kind: 'added', path: 'events[4].payload.error_code', severity: 'error' }),
    ]);
    expect(diffWith(dropKey(4, 'status')).differences).toEqual([
      expect.objectContaining({
        kind: 'removed',
        path: 'events[4].payload.status',
        severity: 'error',
        expected: 'completed',
      }),
    ]);
  });

  it('a value whose JSON type changed, even a non-significant one', () => {
    const diff = diffWith(setPayload(3, { context_blocks_count: '2' }));
    expect(diff.compatibility).toBe('breaking');
    expect(diff.differences).toEqual([
      expect.objectContaining({
        kind: 'modified',
        path: 'events[3].payload.context_blocks_count',
        expected: 2,
        actual: '2',
        severity: 'error',
        message: expect.stringContaining('changed type from number to string'),
      }),
    ]);
    expect(diffWith(setPayload(2, { matched: null })).compatibility).toBe('breaking');
    expect(diffWith(setPayload(2, { matched: [2] })).compatibility).toBe('breaking');
  });
});

describe('diffTraces: compatible', () => {
  it('a member only in actual is additive (info)', () => {
    const diff = diffWith(setPayload(1, { client: { name: 'cli', version: '2' } }));
    expect(diff.compatibility).toBe('compatible');
    expect(diff.differences).toEqual([
      expect.objectContaining({
        kind: 'added',
        path: 'events[1].payload.client',
        actual: { name: 'cli', version: '2' },
        severity: 'info',
      }),
    ]);
  });

  it('a non-significant member only in expected is a warning', () => {
    const diff = diffWith(dropKey(1, 'risk_tier'));
    expect(diff.compatibility).toBe('compatible');
    expect(diff.differences).toEqual([
      expect.objectContaining({
        kind: 'removed',
        path: 'events[1].payload.risk_tier',
        expected: 'low',
        severity: 'warning',
      }),
    ]);
  });

  it('a changed non-significant value is a warning', () => {
    const diff = diffWith(setPayload(2, { matched: 3 }), setPayload(1, { goal: 'open two issues' }));
    expect(diff.compatibility).toBe('compatible');
    expect(diff.differences.map((d) => [d.path, d.kind, d.severity])).toEqual([
      ['events[1].payload.goal', 'modified', 'warning'],
      ['events[2].payload.matched', 'modified', 'warning'],
    ]);
  });

  it('compares the envelope too (severity, source component, tags), not only payloads', () => {
    const expected = record(scenario(), 1);
    const actual = record(scenario(at(2, (s) => ({ ...s, severity: 'warn' }))), 2).map((e, i) =>
      i === 0 ? { ...e, source: { ...e.source, component: 'other' }, tags: { env: 'ci' } } : e,
    );
    const diff = diffTraces(expected, actual);
    expect(diff.compatibility).toBe('compatible');
    expect(diff.differences.map((d) => [d.path, d.kind, d.severity])).toEqual([
      ['events[0].source.component', 'modified', 'warning'],
      ['events[0].tags', 'added', 'info'],
      ['events[2].severity', 'modified', 'warning'],
    ]);
  });

  it('counts modified events, not differences', () => {
    const diff = diffWith(setPayload(1, { goal: 'x', operation: 'validate', extra: 1 }));
    expect(diff.differences).toHaveLength(3);
    expect(diff.summary.events_modified).toBe(1);
  });
});

describe('diffTraces: alignment', () => {
  const types = (...names: string[]): DiffableEvent[] => names.map((event_type) => ({ event_type, payload: {} }));

  it('aligns repeated types by LCS, not by position', () => {
    const diff = diffTraces(types('a', 'b', 'b', 'c', 'd'), types('a', 'b', 'c', 'x', 'd'));
    expect(diff.summary).toMatchObject({ events_compared: 4, events_retyped: 0, events_removed: 1, events_added: 1 });
    expect(diff.differences.map((d) => [d.kind, d.path])).toEqual([
      ['removed', 'events[2]'],
      ['added', 'events[3]'],
    ]);
  });

  it('pairs removed and added events of one gap as re-typed, the surplus as removed or added', () => {
    const diff = diffTraces(types('a', 'b', 'c', 'z'), types('a', 'x', 'y', 'w', 'z'));
    expect(diff.differences.map((d) => [d.kind, d.expected_index, d.actual_index])).toEqual([
      ['retyped', 1, 1],
      ['retyped', 2, 2],
      ['added', undefined, 3],
    ]);
    expect(diff.summary).toMatchObject({ events_retyped: 2, events_added: 1, events_removed: 0, events_compared: 2 });
  });

  it('reports a whole trace missing or extra', () => {
    expect(diffTraces(types('a', 'b'), []).summary).toMatchObject({ events_removed: 2, events_compared: 0 });
    expect(diffTraces([], types('a')).differences).toEqual([
      expect.objectContaining({ kind: 'added', path: 'events[0]', actual_index: 0, event_type: 'a' }),
    ]);
  });
});

describe('diffTraces: options', () => {
  it('ignore: a bare key at any depth, a key glob, a dotted path, an array wildcard, `**`', () => {
    expect(diffWith(setPayload(1, { goal: 'changed' })).compatibility).toBe('compatible');
    expect(
      diffTraces(baseline, record(scenario(setPayload(1, { goal: 'changed' })), 2), { ignore: ['goal'] }).compatibility,
    ).toBe('identical');
    expect(
      diffTraces(baseline, record(scenario(setPayload(1, { goal: 'changed' })), 2), { ignore: ['payload.goal'] })
        .compatibility,
    ).toBe('identical');
    expect(
      diffTraces(baseline, record(scenario(setPayload(3, { context_blocks_count: 9 })), 2), { ignore: ['*_count'] })
        .compatibility,
    ).toBe('identical');
    const grantChange = record(
      scenario(
        setPayload(3, { grants: [{ id: 'other', action_type: 'api.github.create_issue', requires_approval: false }] }),
      ),
      2,
    );
    expect(diffTraces(baseline, grantChange).compatibility).toBe('breaking');
    expect(diffTraces(baseline, grantChange, { ignore: ['payload.grants.*.id'] }).compatibility).toBe('identical');
    expect(diffTraces(baseline, grantChange, { ignore: ['payload.**.id'] }).compatibility).toBe('identical');
    // a path does not match elsewhere
    expect(diffTraces(baseline, grantChange, { ignore: ['payload.id'] }).compatibility).toBe('breaking');
  });

  it('replaceDefaultIgnore: only the given members are volatile', () => {
    const diff = diffTraces(baseline, record(scenario(), 2), { replaceDefaultIgnore: true, ignore: ['event_hash'] });
    const paths = diff.differences.map((d) => d.path);
    expect(paths).toContain('events[0].timestamp');
    expect(paths).toContain('events[3].payload.resolution_id');
    expect(paths).not.toContain('events[0].event_hash');
    // a grant's fresh action_id is no longer volatile, and it sits under `grants`
    expect(diff.compatibility).toBe('breaking');
    expect(diff.differences.filter((d) => d.severity === 'error').map((d) => d.path)).toEqual([
      'events[3].payload.grants[0].action_id',
      'events[3].payload.grants[0].valid_until',
    ]);
  });

  it('ignoreEventTypes: globs, applied to both traces before alignment; indices stay those of the inputs', () => {
    const noisy = record(
      scenario(
        insert(1, { event_type: 'carp.policy.rule.matched', payload: { rule: 'a' } }),
        insert(2, { event_type: 'carp.policy.rule.matched', payload: { rule: 'b' } }),
        setPayload(5, { decision_type: 'deny' }),
      ),
      2,
    );
    const diff = diffTraces(baseline, noisy, { ignoreEventTypes: ['carp.policy.rule.*'] });
    expect(diff.summary).toMatchObject({ events_added: 0, events_compared: 5 });
    expect(diff.differences).toEqual([
      expect.objectContaining({ path: 'events[3].payload.decision_type', expected_index: 3, actual_index: 5 }),
    ]);
  });

  it('significantKeys: extra keys whose change is breaking', () => {
    const actual = record(scenario(setPayload(1, { goal: 'drop the database' })), 2);
    expect(diffTraces(baseline, actual).compatibility).toBe('compatible');
    expect(diffTraces(baseline, actual, { significantKeys: ['goal'] }).compatibility).toBe('breaking');
  });

  it('paths quote keys that are not identifiers', () => {
    const diff = diffTraces(
      [{ event_type: 'a', payload: { 'x.y': 1, 'with space': [1] } }],
      [{ event_type: 'a', payload: { 'x.y': 2, 'with space': [1, 2] } }],
    );
    expect(diff.differences.map((d) => d.path)).toEqual([
      'events[0].payload["x.y"]',
      'events[0].payload["with space"][1]',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

function lcsLength(a: readonly string[], b: readonly string[]): number {
  const dp = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i]![j] = a[i - 1] === b[j - 1] ? dp[i - 1]![j - 1]! + 1 : Math.max(dp[i - 1]![j]!, dp[i]![j - 1]!);
    }
  }
  return dp[a.length]![b.length]!;
}

describe('lcsAlign', () => {
  const seq = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 30 });

  it.each([
    ['full table', undefined],
    ['linear-space split (Hirschberg)', 1],
    ['mixed', 16],
  ])('finds a longest common subsequence: %s', (_name, cellLimit) => {
    fc.assert(
      fc.property(seq, seq, (a, b) => {
        const pairs = lcsAlign(a, b, cellLimit);
        expect(pairs).toHaveLength(lcsLength(a, b));
        pairs.forEach(([i, j], k) => {
          expect(a[i]).toBe(b[j]);
          if (k > 0) {
            const [pi, pj] = pairs[k - 1]!;
            expect(i).toBeGreaterThan(pi);
            expect(j).toBeGreaterThan(pj);
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('aligns long traces: common ends matched directly, a large middle in linear space', () => {
    const a = Array.from({ length: 20_000 }, (_x, i) => `t${i % 7}`);
    const b = [...a.slice(0, 10_000), 'extra', ...a.slice(10_001)];
    expect(lcsAlign(a, b)).toHaveLength(19_999);
    // different first and last events: no common prefix or suffix, a 9M-cell middle
    const c = ['start', ...a.slice(0, 3000), 'end'];
    const d = ['begin', ...a.slice(0, 1500), 'x', ...a.slice(1500, 3000), 'finish'];
    expect(lcsAlign(c, d)).toHaveLength(3000);
  });
});

describe('diffTraces: properties', () => {
  const event = fc.record({
    event_type: fc.constantFrom('a', 'b', 'c'),
    payload: fc.dictionary(fc.constantFrom('k', 'status', 'n', 'grants'), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 3,
    }),
  });

  it('a trace is identical to itself and to a deep copy', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 10 }), (trace) => {
        expect(diffTraces(trace, trace).compatibility).toBe('identical');
        expect(diffTraces(trace, structuredClone(trace)).differences).toEqual([]);
      }),
    );
  });

  it('differences are errors exactly when the diff is breaking; summary counts agree with differences', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 8 }), fc.array(event, { maxLength: 8 }), (x, y) => {
        const diff = diffTraces(x, y);
        const errors = diff.differences.some((d) => d.severity === 'error');
        expect(diff.compatibility === 'breaking').toBe(errors);
        const count = (kind: string) =>
          diff.differences.filter((d) => d.kind === kind && d.path.match(/^events\[\d+\]$/)).length;
        expect(diff.summary.events_added).toBe(count('added'));
        expect(diff.summary.events_removed).toBe(count('removed'));
        expect(diff.summary.events_compared + diff.summary.events_removed + diff.summary.events_retyped).toBe(x.length);
        expect(diff.summary.events_compared + diff.summary.events_added + diff.summary.events_retyped).toBe(y.length);
        expect(diff.summary.events_modified).toBeLessThanOrEqual(diff.summary.events_compared);
      }),
    );
  });
});

/**
 * Trace diff (CRA-SPEC §7; ADR 0004). Two traces are aligned by event type with a longest
 * common subsequence, and each aligned pair is compared member by member (envelope and payload),
 * ignoring volatile members (ids, timestamps, hashes, durations; configurable).
 *
 * Classification, decided in docs/adr/0004-trace-diff-semantics.md:
 * - event missing from actual / extra in actual ........ removed / added, error
 * - event of another type in the same alignment gap ..... retyped, error
 * - value whose JSON type changed (string → number, …) .. modified, error
 * - member at or under a decision-significant key,
 *   changed, added or removed ........................... modified / added / removed, error
 * - other member only in actual (additive) .............. added, info
 * - other member only in expected ....................... removed, warning
 * - other primitive value changed ....................... modified, warning
 * `breaking` = any error; `compatible` = differences but no error; `identical` = none (volatile
 * members never produce a difference). Significance is inherited: everything inside `grants`
 * or `denied_actions` is itself significant, so a changed grant is a breaking change.
 */
import { compilePathPattern, wildcardRegExp, type PathMatcher } from '../redaction/paths.js';
import { eventTypeMatcher } from './filter.js';

/** Anything with an event type: a TRACE event, or a normalized golden event. */
export interface DiffableEvent {
  event_type: string;
  severity?: string;
  payload?: unknown;
}

export interface DiffOptions {
  /**
   * Extra volatile members. A bare name (`goal`, or a glob like `*_ms`) matches that key at any
   * depth; a dotted path (`payload.goal`, `payload.grants.*.id`, `payload.**.etag`) matches from
   * the event's root, array elements being numeric segments.
   */
  ignore?: readonly string[];
  /** Use only `ignore`, not `DEFAULT_VOLATILE` as well. */
  replaceDefaultIgnore?: boolean;
  /** Event types (globs, as in filters) left out before alignment. */
  ignoreEventTypes?: readonly string[];
  /** Extra decision-significant keys, on top of `DECISION_SIGNIFICANT_KEYS`. */
  significantKeys?: readonly string[];
}

export type Compatibility = 'identical' | 'compatible' | 'breaking';
export type DifferenceKind = 'added' | 'removed' | 'modified' | 'retyped';
export type DifferenceSeverity = 'info' | 'warning' | 'error';

export interface TraceDifference {
  kind: DifferenceKind;
  /**
   * `events[i]…` where i is the index in the expected trace, except for an added event, which
   * only exists in the actual trace (its index there). E.g. `events[3].payload.decision_type`.
   */
  path: string;
  expected_index?: number;
  actual_index?: number;
  event_type: string;
  expected?: unknown;
  actual?: unknown;
  severity: DifferenceSeverity;
  message: string;
}

export interface TraceDiffSummary {
  events_added: number;
  events_removed: number;
  events_retyped: number;
  /** Aligned events with at least one difference (events, not differences). */
  events_modified: number;
  /** Aligned pairs whose members were compared. */
  events_compared: number;
}

export interface TraceDiff {
  compatibility: Compatibility;
  summary: TraceDiffSummary;
  differences: TraceDifference[];
}

/** Members that differ on every run: ids, times, hashes, durations, runtime identity. */
export const DEFAULT_VOLATILE: readonly string[] = [
  'event_id',
  'trace_id',
  'span_id',
  'parent_span_id',
  'timestamp',
  'event_hash',
  'previous_event_hash',
  'sequence',
  'session_id',
  'source.instance_id',
  'source.version',
  'request_id',
  'resolution_id',
  'execution_id',
  'approval_id',
  'action_id',
  'block_id',
  'evidence_id',
  'duration_ms',
  'evaluation_time_ms',
  '*_at',
  'expires_at',
  'valid_until',
];

/** A change at or under one of these keys changes what the agent may do: breaking. */
export const DECISION_SIGNIFICANT_KEYS: readonly string[] = [
  'decision_type',
  'decision',
  'allowed_actions',
  'allowed_action_types',
  'denied_actions',
  'denied_action_types',
  'grants',
  'error_code',
  'code',
  'status',
  'effect',
  'policy_refs',
  'allowed',
  'valid',
  'requires_approval',
];

/** Decides whether a member is volatile: by key name (any depth) or by path from the event root. */
export type VolatileMatcher = (key: string | undefined, path: readonly string[]) => boolean;

export function compileVolatileMatcher(options: DiffOptions = {}): VolatileMatcher {
  const entries = [...(options.replaceDefaultIgnore === true ? [] : DEFAULT_VOLATILE), ...(options.ignore ?? [])];
  const keys = new Set<string>();
  const keyGlobs: RegExp[] = [];
  const paths: PathMatcher[] = [];
  entries.forEach((entry, i) => {
    if (entry.includes('.')) paths.push(compilePathPattern(entry, `/ignore/${i}`));
    else if (entry.includes('*')) keyGlobs.push(wildcardRegExp(entry));
    else keys.add(entry);
  });
  return (key, path) =>
    (key !== undefined && (keys.has(key) || keyGlobs.some((re) => re.test(key)))) || paths.some((m) => m(path));
}

interface Context {
  volatile: VolatileMatcher;
  significant: ReadonlySet<string>;
  out: TraceDifference[];
  eventType: string;
  expectedIndex: number;
  actualIndex: number;
}

export function diffTraces(
  expected: readonly DiffableEvent[],
  actual: readonly DiffableEvent[],
  options: DiffOptions = {},
): TraceDiff {
  const volatile = compileVolatileMatcher(options);
  const significant = new Set([...DECISION_SIGNIFICANT_KEYS, ...(options.significantKeys ?? [])]);
  const skipType = eventTypeMatcher(options.ignoreEventTypes ?? []);
  const kept = (events: readonly DiffableEvent[]): number[] =>
    events.flatMap((event, i) => (skipType(event.event_type) ? [] : [i]));
  const e = kept(expected);
  const a = kept(actual);
  const pairs = lcsAlign(
    e.map((i) => (expected[i] as DiffableEvent).event_type),
    a.map((i) => (actual[i] as DiffableEvent).event_type),
  );

  const differences: TraceDifference[] = [];
  const summary: TraceDiffSummary = {
    events_added: 0,
    events_removed: 0,
    events_retyped: 0,
    events_modified: 0,
    events_compared: 0,
  };
  const gap = (eFrom: number, eTo: number, aFrom: number, aTo: number): void => {
    const removed = e.slice(eFrom, eTo);
    const added = a.slice(aFrom, aTo);
    const retyped = Math.min(removed.length, added.length);
    for (let k = 0; k < retyped; k++) {
      differences.push(retypedEvent(expected, actual, removed[k] as number, added[k] as number));
    }
    for (const i of removed.slice(retyped)) differences.push(eventPresence('removed', i, expected[i] as DiffableEvent));
    for (const i of added.slice(retyped)) differences.push(eventPresence('added', i, actual[i] as DiffableEvent));
    summary.events_retyped += retyped;
    summary.events_removed += removed.length - retyped;
    summary.events_added += added.length - retyped;
  };

  let ePos = 0;
  let aPos = 0;
  for (const [ek, ak] of pairs) {
    gap(ePos, ek, aPos, ak);
    const ei = e[ek] as number;
    const ai = a[ak] as number;
    const before = differences.length;
    compareEvents(expected[ei] as DiffableEvent, actual[ai] as DiffableEvent, {
      volatile,
      significant,
      out: differences,
      eventType: (expected[ei] as DiffableEvent).event_type,
      expectedIndex: ei,
      actualIndex: ai,
    });
    summary.events_compared += 1;
    if (differences.length > before) summary.events_modified += 1;
    ePos = ek + 1;
    aPos = ak + 1;
  }
  gap(ePos, e.length, aPos, a.length);

  const compatibility: Compatibility = differences.some((d) => d.severity === 'error')
    ? 'breaking'
    : differences.length > 0
      ? 'compatible'
      : 'identical';
  return { compatibility, summary, differences };
}

function eventPresence(kind: 'added' | 'removed', index: number, event: DiffableEvent): TraceDifference {
  const where = kind === 'removed' ? 'expected' : 'actual';
  return {
    kind,
    path: `events[${index}]`,
    ...(kind === 'removed' ? { expected_index: index } : { actual_index: index }),
    event_type: event.event_type,
    severity: 'error',
    message:
      kind === 'removed'
        ? `event ${event.event_type} (${where} #${index}) is missing from the actual trace`
        : `event ${event.event_type} (${where} #${index}) is not in the expected trace`,
  };
}

function retypedEvent(
  expected: readonly DiffableEvent[],
  actual: readonly DiffableEvent[],
  ei: number,
  ai: number,
): TraceDifference {
  const from = (expected[ei] as DiffableEvent).event_type;
  const to = (actual[ai] as DiffableEvent).event_type;
  return {
    kind: 'retyped',
    path: `events[${ei}].event_type`,
    expected_index: ei,
    actual_index: ai,
    event_type: from,
    expected: from,
    actual: to,
    severity: 'error',
    message: `event #${ei} was ${from}, actual #${ai} is ${to}`,
  };
}

function compareEvents(expected: DiffableEvent, actual: DiffableEvent, ctx: Context): void {
  // The event type is what aligned the pair; every other member is compared.
  const { event_type: _e, ...eRest } = expected;
  const { event_type: _a, ...aRest } = actual;
  compareObjects(eRest, aRest, [], `events[${ctx.expectedIndex}]`, false, ctx);
}

type Kind = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean' | 'undefined' | 'other';

function kindOf(value: unknown): Kind {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const t = typeof value;
  return t === 'object' || t === 'string' || t === 'number' || t === 'boolean' || t === 'undefined' ? t : 'other';
}

function compareValues(
  expected: unknown,
  actual: unknown,
  path: string[],
  display: string,
  significant: boolean,
  ctx: Context,
): void {
  const ek = kindOf(expected);
  const ak = kindOf(actual);
  if (ek !== ak) {
    push(ctx, 'modified', display, 'error', `${relative(display)} changed type from ${ek} to ${ak}`, expected, actual);
  } else if (ek === 'object') {
    compareObjects(
      expected as Record<string, unknown>,
      actual as Record<string, unknown>,
      path,
      display,
      significant,
      ctx,
    );
  } else if (ek === 'array') {
    compareArrays(expected as unknown[], actual as unknown[], path, display, significant, ctx);
  } else if (!Object.is(expected, actual)) {
    const message = `${relative(display)} changed from ${preview(expected)} to ${preview(actual)}`;
    push(ctx, 'modified', display, significant ? 'error' : 'warning', message, expected, actual);
  }
}

function compareObjects(
  expected: Record<string, unknown>,
  actual: Record<string, unknown>,
  path: string[],
  display: string,
  significant: boolean,
  ctx: Context,
): void {
  for (const key of Object.keys(expected)) {
    path.push(key);
    if (!ctx.volatile(key, path)) {
      const at = `${display}${member(key)}`;
      const sig = significant || ctx.significant.has(key);
      if (Object.hasOwn(actual, key)) compareValues(expected[key], actual[key], path, at, sig, ctx);
      else push(ctx, 'removed', at, sig ? 'error' : 'warning', `${relative(at)} is missing`, expected[key], undefined);
    }
    path.pop();
  }
  for (const key of Object.keys(actual)) {
    if (Object.hasOwn(expected, key)) continue;
    path.push(key);
    if (!ctx.volatile(key, path)) {
      const at = `${display}${member(key)}`;
      const sig = significant || ctx.significant.has(key);
      push(ctx, 'added', at, sig ? 'error' : 'info', `${relative(at)} was added`, undefined, actual[key]);
    }
    path.pop();
  }
}

function compareArrays(
  expected: readonly unknown[],
  actual: readonly unknown[],
  path: string[],
  display: string,
  significant: boolean,
  ctx: Context,
): void {
  const length = Math.max(expected.length, actual.length);
  for (let i = 0; i < length; i++) {
    path.push(String(i));
    if (!ctx.volatile(undefined, path)) {
      const at = `${display}[${i}]`;
      if (i >= actual.length) {
        push(
          ctx,
          'removed',
          at,
          significant ? 'error' : 'warning',
          `${relative(at)} is missing`,
          expected[i],
          undefined,
        );
      } else if (i >= expected.length) {
        push(ctx, 'added', at, significant ? 'error' : 'info', `${relative(at)} was added`, undefined, actual[i]);
      } else {
        compareValues(expected[i], actual[i], path, at, significant, ctx);
      }
    }
    path.pop();
  }
}

function push(
  ctx: Context,
  kind: DifferenceKind,
  path: string,
  severity: DifferenceSeverity,
  message: string,
  expected: unknown,
  actual: unknown,
): void {
  ctx.out.push({
    kind,
    path,
    expected_index: ctx.expectedIndex,
    actual_index: ctx.actualIndex,
    event_type: ctx.eventType,
    ...(expected === undefined ? {} : { expected }),
    ...(actual === undefined ? {} : { actual }),
    severity,
    message: `${ctx.eventType}: ${message}`,
  });
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function member(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** The path without its `events[i].` prefix, for messages. */
function relative(display: string): string {
  return display.replace(/^events\[\d+\]\.?/, '');
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// Alignment

/** Below this many DP cells the full table is used; above it, Hirschberg's linear-space split. */
const DP_CELL_LIMIT = 1 << 22;

/**
 * Index pairs [i, j] of a longest common subsequence of `a` and `b`, increasing in both.
 * Common prefixes and suffixes are matched first; the rest uses dynamic programming, in linear
 * space (Hirschberg) when the table would be large. O(n·m) time in the worst case.
 */
export function lcsAlign(
  a: readonly string[],
  b: readonly string[],
  cellLimit = DP_CELL_LIMIT,
): Array<[number, number]> {
  const ids = new Map<string, number>();
  const code = (s: string): number => {
    let id = ids.get(s);
    if (id === undefined) {
      id = ids.size;
      ids.set(s, id);
    }
    return id;
  };
  const x = Int32Array.from(a, code);
  const y = Int32Array.from(b, code);
  const out: Array<[number, number]> = [];
  alignRange(x, 0, x.length, y, 0, y.length, Math.max(1, cellLimit), out);
  return out;
}

function alignRange(
  x: Int32Array,
  xLo: number,
  xHi: number,
  y: Int32Array,
  yLo: number,
  yHi: number,
  cellLimit: number,
  out: Array<[number, number]>,
): void {
  while (xLo < xHi && yLo < yHi && x[xLo] === y[yLo]) out.push([xLo++, yLo++]);
  const suffix: Array<[number, number]> = [];
  while (xLo < xHi && yLo < yHi && x[xHi - 1] === y[yHi - 1]) suffix.push([--xHi, --yHi]);
  const n = xHi - xLo;
  const m = yHi - yLo;
  if (n > 0 && m > 0) {
    if ((n + 1) * (m + 1) <= cellLimit || n === 1) {
      alignTable(x, xLo, xHi, y, yLo, yHi, out);
    } else {
      const mid = xLo + (n >> 1);
      const forward = lcsRow(x, xLo, mid, y, yLo, yHi, false);
      const backward = lcsRow(x, mid, xHi, y, yLo, yHi, true);
      let split = 0;
      let best = -1;
      for (let k = 0; k <= m; k++) {
        const total = (forward[k] as number) + (backward[m - k] as number);
        if (total > best) {
          best = total;
          split = k;
        }
      }
      alignRange(x, xLo, mid, y, yLo, yLo + split, cellLimit, out);
      alignRange(x, mid, xHi, y, yLo + split, yHi, cellLimit, out);
    }
  }
  for (let k = suffix.length - 1; k >= 0; k--) out.push(suffix[k] as [number, number]);
}

/**
 * Last row of the LCS-length table of x[xLo..xHi) against prefixes of y[yLo..yHi) (or, when
 * `reverse`, of both sequences read backwards): row[k] = LCS length with k elements of y.
 */
function lcsRow(x: Int32Array, xLo: number, xHi: number, y: Int32Array, yLo: number, yHi: number, reverse: boolean) {
  const m = yHi - yLo;
  let prev = new Uint32Array(m + 1);
  let cur = new Uint32Array(m + 1);
  for (let step = 0; step < xHi - xLo; step++) {
    const xi = reverse ? x[xHi - 1 - step] : x[xLo + step];
    cur[0] = 0;
    for (let k = 1; k <= m; k++) {
      const yk = reverse ? y[yHi - k] : y[yLo + k - 1];
      cur[k] = xi === yk ? (prev[k - 1] as number) + 1 : Math.max(prev[k] as number, cur[k - 1] as number);
    }
    [prev, cur] = [cur, prev];
  }
  return prev;
}

/** Full suffix table, then a forward walk: matches greedily, removals before additions on ties. */
function alignTable(
  x: Int32Array,
  xLo: number,
  xHi: number,
  y: Int32Array,
  yLo: number,
  yHi: number,
  out: Array<[number, number]>,
): void {
  const n = xHi - xLo;
  const m = yHi - yLo;
  const width = m + 1;
  const table = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      table[i * width + j] =
        x[xLo + i] === y[yLo + j]
          ? (table[(i + 1) * width + j + 1] as number) + 1
          : Math.max(table[(i + 1) * width + j] as number, table[i * width + j + 1] as number);
    }
  }
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[xLo + i] === y[yLo + j]) {
      out.push([xLo + i, yLo + j]);
      i++;
      j++;
    } else if ((table[(i + 1) * width + j] as number) >= (table[i * width + j + 1] as number)) {
      i++;
    } else {
      j++;
    }
  }
}

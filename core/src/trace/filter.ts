/**
 * Event filters (CRA-SPEC §6.6): used by trace queries and, in compiled form, by the live
 * WebSocket stream. Every criterion is optional; an event passes when it meets all of them.
 */
import { CraError } from '../errors.js';
import { wildcardRegExp } from '../redaction/paths.js';
import { SEVERITIES, type Severity, type TraceEvent } from './types.js';

export interface EventFilter {
  session_id?: string;
  /** Globs: `*` matches any run of characters, dots included; anchored (`carp.*`, `*.failed`). */
  event_types?: readonly string[];
  /** Lowest severity that passes: debug < info < warn < error. */
  min_severity?: Severity;
  /** First sequence number that passes (inclusive): resuming a stream after sequence n uses n + 1. */
  from_sequence?: number;
  /** ISO-8601 bounds, both inclusive. */
  from?: string;
  to?: string;
  /** At most this many events (the first ones that pass). Ignored by the compiled predicate. */
  limit?: number;
}

export type EventPredicate = (event: TraceEvent) => boolean;

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Events that pass `filter`, in their original order, at most `filter.limit` of them. */
export function filterEvents(events: readonly TraceEvent[], filter: EventFilter = {}): TraceEvent[] {
  const accept = compileEventFilter(filter);
  const limit = filter.limit ?? Number.POSITIVE_INFINITY;
  const out: TraceEvent[] = [];
  for (const event of events) {
    if (out.length >= limit) break;
    if (accept(event)) out.push(event);
  }
  return out;
}

/**
 * The filter as a predicate, compiled once (globs, bounds) and cheap per event. `limit` is not
 * part of it: a predicate has no memory. Throws INVALID_REQUEST naming the bad member.
 */
export function compileEventFilter(filter: EventFilter = {}): EventPredicate {
  const checks: EventPredicate[] = [];
  const sessionId = filter.session_id;
  if (sessionId !== undefined) checks.push((e) => e.session_id === sessionId);
  if (filter.event_types !== undefined) checks.push(typeCheck(filter.event_types));
  if (filter.min_severity !== undefined) checks.push(severityCheck(filter.min_severity));
  if (filter.from_sequence !== undefined) checks.push(sequenceCheck(filter.from_sequence));
  const from = filter.from === undefined ? undefined : instant(filter.from, 'from');
  const to = filter.to === undefined ? undefined : instant(filter.to, 'to');
  if (from !== undefined || to !== undefined) checks.push(timeCheck(from, to));
  if (filter.limit !== undefined && !(Number.isSafeInteger(filter.limit) && filter.limit >= 0)) {
    throw invalidFilter('limit', 'must be a non-negative integer');
  }
  if (checks.length === 0) return () => true;
  return (event) => checks.every((check) => check(event));
}

/** Compiles event-type globs into one predicate; exact names are a set lookup. */
export function eventTypeMatcher(patterns: readonly string[]): (eventType: string) => boolean {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const pattern of patterns) {
    if (pattern.includes('*')) globs.push(wildcardRegExp(pattern));
    else exact.add(pattern);
  }
  return (type) => exact.has(type) || globs.some((re) => re.test(type));
}

function typeCheck(types: readonly string[]): EventPredicate {
  if (!Array.isArray(types)) throw invalidFilter('event_types', 'must be an array of strings');
  types.forEach((t, i) => {
    if (typeof t !== 'string' || t === '') throw invalidFilter(`event_types/${i}`, 'must be a non-empty string');
  });
  const matches = eventTypeMatcher(types);
  return (e) => matches(e.event_type);
}

function severityCheck(minSeverity: Severity): EventPredicate {
  if (!(SEVERITIES as readonly string[]).includes(minSeverity)) {
    throw invalidFilter('min_severity', `must be one of ${SEVERITIES.join(', ')}`);
  }
  const floor = SEVERITY_RANK[minSeverity];
  // An unknown severity on an event ranks below debug.
  return (e) => (SEVERITY_RANK[e.severity] ?? -1) >= floor;
}

function sequenceCheck(fromSequence: number): EventPredicate {
  if (!Number.isSafeInteger(fromSequence) || fromSequence < 0) {
    throw invalidFilter('from_sequence', 'must be a non-negative integer');
  }
  return (e) => e.sequence >= fromSequence;
}

function timeCheck(from: number | undefined, to: number | undefined): EventPredicate {
  return (e) => {
    const t = Date.parse(e.timestamp);
    if (Number.isNaN(t)) return false;
    return (from === undefined || t >= from) && (to === undefined || t <= to);
  };
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

function instant(value: string, member: string): number {
  const ms = typeof value === 'string' && ISO_8601.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw invalidFilter(member, 'must be an ISO-8601 date or date-time with a zone');
  return ms;
}

function invalidFilter(member: string, message: string): CraError {
  const path = `/${member}`;
  return new CraError('INVALID_REQUEST', `trace filter ${path} ${message}`, {
    details: { violations: [{ path, message }] },
  });
}

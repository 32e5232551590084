/**
 * JSONL, the TRACE exchange format (CRA-SPEC §6.6): one compact JSON event per line, UTF-8, LF.
 * Core takes and returns contents; reading and writing files is the caller's business.
 */
import { CraError } from '../errors.js';
import { SEVERITIES, type TraceEvent } from './types.js';

/** One compact JSON object per line, each line LF-terminated (so `''` for no events). */
export function toJsonl(events: readonly TraceEvent[]): string {
  let out = '';
  for (const event of events) out += `${JSON.stringify(event)}\n`;
  return out;
}

/**
 * Parses JSONL into events. Blank lines are skipped, a trailing CR (CRLF files) and a leading
 * byte-order mark are tolerated. A line that is not JSON, or not an event envelope, throws
 * INVALID_REQUEST naming its 1-based line number and the offending members. Hashes and
 * linkage are not checked here: that is `verifyChain`'s job.
 */
export function parseJsonl(text: string): TraceEvent[] {
  const events: TraceEvent[] = [];
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    events.push(parseLine(line, i + 1));
  }
  return events;
}

interface Violation {
  path: string;
  message: string;
}

function parseLine(line: string, lineNumber: number): TraceEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw lineError(lineNumber, [{ path: '', message: `not valid JSON (${(err as Error).message})` }]);
  }
  const violations = envelopeViolations(value);
  if (violations.length > 0) throw lineError(lineNumber, violations);
  return value as TraceEvent;
}

const STRING_MEMBERS = [
  'trace_version',
  'event_id',
  'trace_id',
  'span_id',
  'session_id',
  'timestamp',
  'event_type',
  'previous_event_hash',
  'event_hash',
] as const;

/** Structural check of the §6.1 envelope: required members, their JSON types, no `null` optionals. */
function envelopeViolations(value: unknown): Violation[] {
  if (!isRecord(value)) return [{ path: '', message: 'an event must be a JSON object' }];
  const violations: Violation[] = [];
  for (const name of STRING_MEMBERS) {
    if (typeof value[name] !== 'string') violations.push(memberViolation(value, name, 'a string'));
  }
  const sequence = value['sequence'];
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 0) {
    violations.push(memberViolation(value, 'sequence', 'a non-negative integer'));
  }
  if (!(SEVERITIES as readonly unknown[]).includes(value['severity'])) {
    violations.push(memberViolation(value, 'severity', `one of ${SEVERITIES.join(', ')}`));
  }
  for (const name of ['source', 'payload'] as const) {
    if (!isRecord(value[name])) violations.push(memberViolation(value, name, 'an object'));
  }
  if ('parent_span_id' in value && typeof value['parent_span_id'] !== 'string') {
    violations.push({ path: '/parent_span_id', message: 'must be a string when present (omitted, never null)' });
  }
  if ('tags' in value && !isStringRecord(value['tags'])) {
    violations.push({ path: '/tags', message: 'must be an object of strings when present (omitted, never null)' });
  }
  return violations;
}

function memberViolation(value: Record<string, unknown>, name: string, expected: string): Violation {
  return { path: `/${name}`, message: name in value ? `must be ${expected}` : `is required (${expected})` };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): boolean {
  return isRecord(value) && Object.values(value).every((v) => typeof v === 'string');
}

function lineError(line: number, violations: Violation[]): CraError {
  const what = violations.map((v) => (v.path === '' ? v.message : `${v.path} ${v.message}`)).join('; ');
  return new CraError('INVALID_REQUEST', `JSONL line ${line}: ${what}`, { details: { line, violations } });
}

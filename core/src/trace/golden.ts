/**
 * Golden traces (CRA-SPEC §7): a recorded trace, normalized so the file is stable across runs
 * and readable in a code review, compared with a fresh trace to gate CI on `breaking`.
 * Core works on contents; reading and writing the file is the caller's business.
 */
import { CraError } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { canonicalJson } from './canonical.js';
import { compileVolatileMatcher, diffTraces, type DiffOptions, type DiffableEvent, type TraceDiff } from './diff.js';
import { eventTypeMatcher } from './filter.js';

/** A normalized event: no volatile members, keys sorted, `event_type` first. */
export interface GoldenEvent {
  event_type: string;
  [member: string]: unknown;
}

export interface GoldenCompareOptions extends DiffOptions {
  /** `breaking` (default): only breaking differences fail; `compatible`: any difference fails. */
  failOn?: 'breaking' | 'compatible';
}

export interface GoldenComparison {
  passed: boolean;
  diff: TraceDiff;
}

/**
 * Drops volatile members (the diff's ignore list, at every depth) and events of ignored types,
 * and sorts keys, so that `JSON.stringify(result, null, 2)` is byte-stable across runs.
 */
export function normalizeForGolden(events: readonly DiffableEvent[], options: DiffOptions = {}): GoldenEvent[] {
  const volatile = compileVolatileMatcher(options);
  const skipType = eventTypeMatcher(options.ignoreEventTypes ?? []);
  const strip = (value: unknown, key: string | undefined, path: string[]): unknown => {
    if (Array.isArray(value)) {
      return value.map((item, i) => {
        path.push(String(i));
        const out = strip(item, undefined, path);
        path.pop();
        return out;
      });
    }
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      path.push(k);
      if (!volatile(k, path)) {
        defineMember(out, k, strip((value as Record<string, unknown>)[k], k, path));
      }
      path.pop();
    }
    return out;
  };
  return events
    .filter((event) => !skipType(event.event_type))
    .map((event) => {
      const { event_type, ...rest } = event;
      return { event_type, ...(strip(rest, undefined, []) as Record<string, unknown>) };
    });
}

/** Diffs a fresh trace against its golden; `passed` unless the diff reaches `failOn`. */
export function compareWithGolden(
  golden: readonly DiffableEvent[],
  actual: readonly DiffableEvent[],
  options: GoldenCompareOptions = {},
): GoldenComparison {
  const { failOn = 'breaking', ...diffOptions } = options;
  const diff = diffTraces(golden, actual, diffOptions);
  const passed = failOn === 'breaking' ? diff.compatibility !== 'breaking' : diff.compatibility === 'identical';
  return { passed, diff };
}

/**
 * The structure of a trace in 16 hex characters: SHA-256 over the canonical JSON list of
 * {event_type, severity, payload_keys (sorted top-level payload keys)}. Equal for two runs of
 * the same scenario; different as soon as an event, its severity or its payload shape changes.
 * Volatile payload keys and ignored event types are left out (same `options` as the diff), so
 * a trace and its normalized golden have the same fingerprint.
 */
export function goldenFingerprint(events: readonly DiffableEvent[], options: DiffOptions = {}): string {
  const volatile = compileVolatileMatcher(options);
  const skipType = eventTypeMatcher(options.ignoreEventTypes ?? []);
  const shape = events
    .filter((event) => !skipType(event.event_type))
    .map((event) => ({
      event_type: event.event_type,
      severity: event.severity,
      payload_keys: isRecord(event.payload)
        ? Object.keys(event.payload)
            .filter((key) => !volatile(key, ['payload', key]))
            .sort()
        : [],
    }));
  return sha256Hex(canonicalJson(shape)).slice(0, 16);
}

/** The golden file's text: normalized events as a pretty JSON array, LF, trailing newline. */
export function serializeGolden(events: readonly DiffableEvent[], options: DiffOptions = {}): string {
  return `${JSON.stringify(normalizeForGolden(events, options), null, 2)}\n`;
}

/** Reads a golden file's text; throws INVALID_REQUEST naming the JSON Pointer of a bad entry. */
export function parseGolden(text: string): GoldenEvent[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidGolden('', `not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(value)) throw invalidGolden('', 'a golden trace must be a JSON array of events');
  value.forEach((event: unknown, i) => {
    if (!isRecord(event)) throw invalidGolden(`/${i}`, 'must be an object');
    if (typeof event['event_type'] !== 'string') throw invalidGolden(`/${i}/event_type`, 'must be a string');
  });
  return value as GoldenEvent[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Assigns without invoking the `__proto__` setter. */
function defineMember(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function invalidGolden(path: string, message: string): CraError {
  return new CraError('INVALID_REQUEST', `golden trace ${path || '(root)'}: ${message}`, {
    details: { violations: [{ path, message }] },
  });
}

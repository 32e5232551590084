/**
 * Identifiers and time, injectable so that pure code stays deterministic under test.
 * Ids are UUIDv7 (RFC 9562); trace and span ids follow W3C Trace Context.
 */
import { randomBytes } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';

export interface IdSource {
  uuid(): string;
  traceId(): string;
  spanId(): string;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export const randomIds: IdSource = {
  uuid: () => uuidv7(),
  traceId: () => nonZeroHex(16),
  spanId: () => nonZeroHex(8),
};

function nonZeroHex(bytes: number): string {
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!/^0+$/.test(hex)) return hex;
  }
}

/** Deterministic ids for tests and replay: UUIDv7-shaped, counting up from a seed. */
export function sequentialIds(seed = 0): IdSource {
  let n = seed;
  const next = (): number => ++n;
  return {
    uuid: () => {
      const hex = next().toString(16).padStart(12, '0');
      return `018f6b1c-0000-7000-8000-${hex}`;
    },
    traceId: () => next().toString(16).padStart(32, '0'),
    spanId: () => next().toString(16).padStart(16, '0'),
  };
}

/** A clock that only moves when told to. */
export function fixedClock(start: number): Clock & { advance(ms: number): void; set(ms: number): void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

export const UUID_V7_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';
export const TRACE_ID_PATTERN = '^(?!0{32})[0-9a-f]{32}$';
export const SPAN_ID_PATTERN = '^(?!0{16})[0-9a-f]{16}$';

const UUID_V7 = new RegExp(UUID_V7_PATTERN);
export function isUuidV7(value: string): boolean {
  return UUID_V7.test(value);
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

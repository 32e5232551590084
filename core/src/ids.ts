/**
 * Identifiers and time, injectable so that pure code stays deterministic under test.
 * Ids are UUIDv7 (RFC 9562); trace and span ids follow W3C Trace Context.
 */
import { randomFillSync } from 'node:crypto';
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

/**
 * Random bytes from a pool refilled 4 KiB at a time. The `uuid` package asks the CSPRNG for 16
 * bytes per id (`crypto.getRandomValues`, ~2 µs), and one resolve mints dozens of ids (its
 * events, blocks, evidence and grants); one `randomFillSync` per 256 ids costs a fifth of that.
 * The bytes are the same CSPRNG's, each handed out once.
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolOffset = POOL_BYTES;

function randomFrom(bytes: number): Buffer {
  if (poolOffset + bytes > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool.subarray(poolOffset, (poolOffset += bytes));
}

/**
 * UUIDv7 state as the `uuid` package keeps it (RFC 9562 §6.2 method 1): a random 32-bit counter
 * seeded per millisecond and incremented within it, so ids from this process sort in the order
 * they were minted.
 */
const v7State = { msecs: -Infinity, seq: 0 };

function uuidV7(): string {
  const random = randomFrom(16);
  const now = Date.now();
  if (now > v7State.msecs) {
    v7State.seq = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
    v7State.msecs = now;
  } else {
    v7State.seq = (v7State.seq + 1) | 0;
    if (v7State.seq === 0) v7State.msecs++;
  }
  return uuidv7({ random, msecs: v7State.msecs, seq: v7State.seq });
}

export const randomIds: IdSource = {
  uuid: uuidV7,
  traceId: () => nonZeroHex(16),
  spanId: () => nonZeroHex(8),
};

const ALL_ZERO = /^0+$/;

function nonZeroHex(bytes: number): string {
  for (;;) {
    const hex = randomFrom(bytes).toString('hex');
    if (!ALL_ZERO.test(hex)) return hex;
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

let lastMs = NaN;
let lastIso = '';

/** ISO-8601 UTC with milliseconds. The events of one operation share a millisecond: remembered. */
export function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

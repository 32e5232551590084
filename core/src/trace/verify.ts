/**
 * Chain verification (CRA-SPEC §6.3): recompute every hash, check genesis, linkage and sequence
 * continuity, report the first failure with its index and type.
 */
import { computeEventHash } from './chain.js';
import { GENESIS_HASH, type ChainFailure, type ChainHead, type TraceEvent, type VerifyResult } from './types.js';

export interface VerifyOptions {
  /** Verify a continuation: the first event must link to this head instead of genesis. */
  after?: ChainHead;
}

export function verifyChain(events: readonly TraceEvent[], options: VerifyOptions = {}): VerifyResult {
  let expectedSequence = options.after ? options.after.sequence + 1 : 0;
  let expectedPrevious = options.after ? options.after.event_hash : GENESIS_HASH;
  for (let index = 0; index < events.length; index++) {
    const event = events[index] as TraceEvent;
    const failure = checkEvent(event, index, expectedSequence, expectedPrevious, options.after === undefined);
    if (failure) return { valid: false, event_count: events.length, first_failure: failure };
    expectedSequence = event.sequence + 1;
    expectedPrevious = event.event_hash;
  }
  const last = events.at(-1);
  return {
    valid: true,
    event_count: events.length,
    ...(last ? { head: { sequence: last.sequence, event_hash: last.event_hash } } : {}),
  };
}

function checkEvent(
  event: TraceEvent,
  index: number,
  expectedSequence: number,
  expectedPrevious: string,
  fromGenesis: boolean,
): ChainFailure | undefined {
  if (index === 0 && fromGenesis && (event.sequence !== 0 || event.previous_event_hash !== GENESIS_HASH)) {
    return {
      index,
      error: 'invalid_genesis',
      message: `first event must have sequence 0 and previous_event_hash of 64 zeros (got sequence ${String(event.sequence)})`,
    };
  }
  if (event.sequence !== expectedSequence) {
    return {
      index,
      error: 'sequence_gap',
      message: `expected sequence ${expectedSequence}, found ${String(event.sequence)}`,
    };
  }
  if (event.previous_event_hash !== expectedPrevious) {
    return {
      index,
      error: 'chain_broken',
      message: `previous_event_hash does not match the hash of event ${index - 1}`,
    };
  }
  let recomputed: string;
  try {
    recomputed = computeEventHash(event);
  } catch (err) {
    return { index, error: 'hash_mismatch', message: `event cannot be canonicalised: ${(err as Error).message}` };
  }
  if (recomputed !== event.event_hash) {
    return {
      index,
      error: 'hash_mismatch',
      message: `event_hash ${String(event.event_hash)} != recomputed ${recomputed}`,
    };
  }
  return undefined;
}

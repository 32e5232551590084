/**
 * The per-session hash chain (CRA-SPEC §6.2): genesis at sequence 0 linking to 64 zeros; each
 * event's hash is SHA-256 over the RFC 8785 canonical JSON of the event without `event_hash`.
 */
import { sha256Hex } from '../hash.js';
import { canonicalJson } from './canonical.js';
import { GENESIS_HASH, type ChainHead, type EventDraft, type TraceEvent } from './types.js';

/** Hash of an event: everything but its own `event_hash` member. */
export function computeEventHash(event: Omit<TraceEvent, 'event_hash'> | TraceEvent): string {
  const { event_hash: _ignored, ...rest } = event as TraceEvent;
  return sha256Hex(canonicalJson(rest));
}

/**
 * Places drafts on a chain after `head` (null = empty chain), assigning sequence numbers,
 * links and hashes. Pure: the caller serialises appends per session.
 */
export function sealEvents(head: ChainHead | null, drafts: readonly EventDraft[]): TraceEvent[] {
  let sequence = head === null ? -1 : head.sequence;
  let previous = head === null ? GENESIS_HASH : head.event_hash;
  return drafts.map((draft) => {
    sequence += 1;
    const unsealed = { ...draft, sequence, previous_event_hash: previous };
    const event_hash = computeEventHash(unsealed);
    previous = event_hash;
    return { ...unsealed, event_hash } as TraceEvent;
  });
}

export function headOf(events: readonly TraceEvent[]): ChainHead | null {
  const last = events.at(-1);
  return last === undefined ? null : { sequence: last.sequence, event_hash: last.event_hash };
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/trace/canonical.js';
import { computeEventHash, headOf, sealEvents } from '../src/trace/chain.js';
import { EVENT_TYPES } from '../src/trace/event-types.js';
import { parseJsonl, toJsonl } from '../src/trace/jsonl.js';
import { GENESIS_HASH, SEVERITIES, type EventDraft, type TraceEvent } from '../src/trace/types.js';
import { verifyChain } from '../src/trace/verify.js';

// ---------------------------------------------------------------------------------------------
// Generators: drafts with nested payloads (unicode strings, numbers, arrays, objects).

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SOURCE = { component: 'cra-runtime', version: '1.0.0', instance_id: 'runtime-0' };

const json = fc.jsonValue({ maxDepth: 3, stringUnit: 'grapheme' });
const payloadArb = fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 10 }), json, { maxKeys: 6 });
const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${length}}$`));

const draftArb = fc
  .record(
    {
      event_type: fc.constantFrom(...EVENT_TYPES, 'custom.test.event'),
      severity: fc.constantFrom(...SEVERITIES),
      span_id: hex(16),
      parent_span_id: hex(16),
      payload: payloadArb,
      tags: fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ unit: 'grapheme', maxLength: 8 }), { maxKeys: 2 }),
    },
    { requiredKeys: ['event_type', 'severity', 'span_id', 'payload'] },
  )
  .map((r) => r as Omit<EventDraft, 'trace_version' | 'event_id' | 'trace_id' | 'session_id' | 'timestamp' | 'source'>);

function completeDrafts(
  partials: ReadonlyArray<
    Omit<EventDraft, 'trace_version' | 'event_id' | 'trace_id' | 'session_id' | 'timestamp' | 'source'>
  >,
  session = 'sess',
): EventDraft[] {
  return partials.map((p, i) => ({
    trace_version: '1.0',
    event_id: `018f6b1c-0000-7000-8000-${i.toString(16).padStart(12, '0')}`,
    trace_id: TRACE_ID,
    session_id: `018f6b1c-0000-7000-8000-${session === 'sess' ? '00000000aaaa' : '00000000bbbb'}`,
    timestamp: new Date(Date.UTC(2026, 0, 1) + i).toISOString(),
    source: SOURCE,
    ...p,
  }));
}

const chainArb = (minLength: number) =>
  fc.array(draftArb, { minLength, maxLength: 8 }).map((partials) => sealEvents(null, completeDrafts(partials)));

/** A separately generated chain (another session), for foreign insertions. */
const foreignChainArb = fc
  .array(draftArb, { minLength: 1, maxLength: 4 })
  .map((partials) => sealEvents(null, completeDrafts(partials, 'other')));

function sameContent(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------

describe('verifyChain over generated chains (CRA-SPEC §6.3)', () => {
  it('accepts every chain built by sealEvents, and survives a JSONL round trip', () => {
    fc.assert(
      fc.property(chainArb(0), (events) => {
        const result = verifyChain(events);
        expect(result).toMatchObject({ valid: true, event_count: events.length });
        expect(result.first_failure).toBeUndefined();
        expect(verifyChain(parseJsonl(toJsonl(events))).valid).toBe(true);
      }),
    );
  });

  it('detects any single-byte change of a serialized event, at that event', () => {
    fc.assert(
      fc.property(
        chainArb(1).chain((events) =>
          fc.record({
            events: fc.constant(events),
            target: fc.nat({ max: events.length - 1 }),
            position: fc.nat(),
            delta: fc.integer({ min: 1, max: 255 }),
          }),
        ),
        ({ events, target, position, delta }) => {
          const original = events[target] as TraceEvent;
          const bytes = Buffer.from(JSON.stringify(original), 'utf8');
          const at = position % bytes.length;
          bytes[at] = ((bytes[at] as number) + delta) % 256;
          const tamperedLine = bytes.toString('utf8');

          let parsed: TraceEvent;
          try {
            [parsed] = parseJsonl(tamperedLine) as [TraceEvent];
          } catch {
            return; // the line no longer parses as an event: the import rejects it (detected)
          }
          // A byte change can leave the parsed value identical (`1e+21` → `1E+21`): the event is
          // unchanged, so there is nothing to detect. Anything else must fail verification.
          if (sameContent(parsed, original)) return;
          const tampered = events.map((e, i) => (i === target ? parsed : e));
          const result = verifyChain(tampered);
          expect(result.valid).toBe(false);
          expect(result.first_failure?.index).toBe(target);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('detects the deletion of any event but the last at the gap; the last only against the recorded head', () => {
    fc.assert(
      fc.property(
        chainArb(1).chain((events) => fc.tuple(fc.constant(events), fc.nat({ max: events.length - 1 }))),
        ([events, k]) => {
          const shortened = events.filter((_e, i) => i !== k);
          const result = verifyChain(shortened);
          if (k < events.length - 1) {
            expect(result.valid).toBe(false);
            expect(result.first_failure).toMatchObject({
              index: k,
              error: k === 0 ? 'invalid_genesis' : 'sequence_gap',
            });
          } else {
            // Truncating the tail leaves a valid shorter chain: its head no longer matches the
            // head recorded before (what signed checkpoints are for).
            expect(result.valid).toBe(true);
            expect(result.head).not.toEqual(headOf(events) ?? undefined);
          }
        },
      ),
    );
  });

  it('detects the insertion of a foreign event at the insertion point (or the event after it)', () => {
    // (Into an empty chain, a foreign genesis is simply another session's valid one-event chain.)
    fc.assert(
      fc.property(
        chainArb(1).chain((events) =>
          fc.tuple(fc.constant(events), foreignChainArb, fc.nat({ max: events.length }), fc.nat()),
        ),
        ([events, foreign, k, pick]) => {
          const intruder = foreign[pick % foreign.length] as TraceEvent;
          const tampered = [...events.slice(0, k), intruder, ...events.slice(k)];
          const result = verifyChain(tampered);
          expect(result.valid).toBe(false);
          expect([k, k + 1]).toContain(result.first_failure?.index);
        },
      ),
    );
  });

  it('detects a duplicated event inserted anywhere', () => {
    fc.assert(
      fc.property(
        chainArb(1).chain((events) =>
          fc.tuple(fc.constant(events), fc.nat({ max: events.length - 1 }), fc.nat({ max: events.length })),
        ),
        ([events, j, k]) => {
          const tampered = [...events.slice(0, k), events[j] as TraceEvent, ...events.slice(k)];
          const result = verifyChain(tampered);
          expect(result.valid).toBe(false);
          expect([k, k + 1]).toContain(result.first_failure?.index);
        },
      ),
    );
  });

  it('detects any swap of two events at the first swapped position', () => {
    fc.assert(
      fc.property(
        chainArb(2).chain((events) =>
          fc
            .uniqueArray(fc.nat({ max: events.length - 1 }), { minLength: 2, maxLength: 2 })
            .map((pair) => [events, Math.min(...pair), Math.max(...pair)] as const),
        ),
        ([events, i, j]) => {
          const swapped = [...events];
          swapped[i] = events[j] as TraceEvent;
          swapped[j] = events[i] as TraceEvent;
          const result = verifyChain(swapped);
          expect(result.valid).toBe(false);
          expect(result.first_failure?.index).toBe(i);
        },
      ),
    );
  });

  it('seals in pieces exactly as in one go, and verifies each piece as a continuation', () => {
    fc.assert(
      fc.property(
        fc
          .array(draftArb, { minLength: 1, maxLength: 8 })
          .chain((partials) => fc.tuple(fc.constant(completeDrafts(partials)), fc.nat({ max: partials.length }))),
        ([drafts, cut]) => {
          const whole = sealEvents(null, drafts);
          const first = sealEvents(null, drafts.slice(0, cut));
          const rest = sealEvents(headOf(first), drafts.slice(cut));
          expect([...first, ...rest]).toEqual(whole);
          const head = headOf(first);
          expect(verifyChain(rest, head === null ? {} : { after: head }).valid).toBe(true);
        },
      ),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Each failure type, with its index.

function drafts(n: number): EventDraft[] {
  return completeDrafts(
    Array.from({ length: n }, (_x, i) => ({
      event_type: i === 0 ? 'session.started' : 'carp.request.received',
      severity: 'info' as const,
      span_id: '00f067aa0ba902b7',
      payload: { n: i, goal: 'Öffne ein Issue – "crash"', nested: { list: [1, 2.5, 'drei'] } },
    })),
  );
}

/** Recomputes the hash of one edited event and re-links everything after it. */
function rehashFrom(events: readonly TraceEvent[], index: number): TraceEvent[] {
  const out = events.map((e) => ({ ...e }));
  for (let i = index; i < out.length; i++) {
    const event = out[i] as TraceEvent;
    if (i > index) event.previous_event_hash = (out[i - 1] as TraceEvent).event_hash;
    event.event_hash = computeEventHash(event);
  }
  return out;
}

describe('verifyChain failure reports', () => {
  const chain = sealEvents(null, drafts(5));

  it('accepts an empty chain, with no head', () => {
    expect(verifyChain([])).toEqual({ valid: true, event_count: 0 });
  });

  it('reports the head of a valid chain', () => {
    expect(verifyChain(chain)).toEqual({
      valid: true,
      event_count: 5,
      head: { sequence: 4, event_hash: (chain[4] as TraceEvent).event_hash },
    });
  });

  it('invalid_genesis: the first event does not start at sequence 0', () => {
    const shifted = rehashFrom(
      chain.map((e) => ({ ...e, sequence: e.sequence + 1 })),
      0,
    );
    expect(verifyChain(shifted).first_failure).toMatchObject({ index: 0, error: 'invalid_genesis' });
  });

  it('invalid_genesis: the first event does not link to 64 zeros', () => {
    const relinked = rehashFrom(
      chain.map((e, i) => (i === 0 ? { ...e, previous_event_hash: 'f'.repeat(64) } : e)),
      0,
    );
    expect(verifyChain(relinked).first_failure).toMatchObject({ index: 0, error: 'invalid_genesis' });
  });

  it('hash_mismatch: a payload edited without re-hashing', () => {
    const edited = chain.map((e, i) => (i === 3 ? { ...e, payload: { ...e.payload, n: 99 } } : e));
    const result = verifyChain(edited);
    expect(result).toMatchObject({ valid: false, event_count: 5, first_failure: { index: 3, error: 'hash_mismatch' } });
    expect(result.head).toBeUndefined();
  });

  it('hash_mismatch: an event that cannot be canonicalised', () => {
    const edited = chain.map((e, i) => (i === 1 ? { ...e, payload: { bad: Number.NaN } } : e));
    expect(verifyChain(edited).first_failure).toMatchObject({ index: 1, error: 'hash_mismatch' });
  });

  it('chain_broken: an event re-hashed over a wrong link', () => {
    const edited = rehashFrom(
      chain.map((e, i) => (i === 2 ? { ...e, previous_event_hash: GENESIS_HASH } : e)),
      2,
    );
    expect(verifyChain(edited).first_failure).toMatchObject({ index: 2, error: 'chain_broken' });
  });

  it('chain_broken: a rewritten event whose successor still links to the original', () => {
    const edited = chain.map((e, i) => (i === 1 ? { ...e, payload: { forged: true } } : e));
    const forged = edited.map((e, i) => (i === 1 ? { ...e, event_hash: computeEventHash(e) } : e));
    expect(verifyChain(forged).first_failure).toMatchObject({ index: 2, error: 'chain_broken' });
  });

  it('sequence_gap: a sequence number skipped', () => {
    const edited = rehashFrom(
      chain.map((e, i) => (i >= 3 ? { ...e, sequence: e.sequence + 1 } : e)),
      3,
    );
    expect(verifyChain(edited).first_failure).toMatchObject({ index: 3, error: 'sequence_gap' });
  });

  it('reports only the first failure', () => {
    const edited = chain.map((e, i) => (i === 1 || i === 3 ? { ...e, payload: {} } : e));
    expect(verifyChain(edited).first_failure).toMatchObject({ index: 1, error: 'hash_mismatch' });
  });
});

describe('continuations', () => {
  const all = sealEvents(null, drafts(6));
  const prefix = all.slice(0, 3);
  const tail = all.slice(3);
  const head = headOf(prefix);

  it('verifies a tail against the head it continues', () => {
    expect(head).not.toBeNull();
    expect(verifyChain(tail, { after: head! })).toMatchObject({
      valid: true,
      event_count: 3,
      head: { sequence: 5, event_hash: (all[5] as TraceEvent).event_hash },
    });
  });

  it('rejects a tail verified from genesis', () => {
    expect(verifyChain(tail).first_failure).toMatchObject({ index: 0, error: 'invalid_genesis' });
  });

  it('rejects a tail against the wrong head', () => {
    const wrongHash = { sequence: head!.sequence, event_hash: 'a'.repeat(64) };
    expect(verifyChain(tail, { after: wrongHash }).first_failure).toMatchObject({ index: 0, error: 'chain_broken' });
    const wrongSequence = { sequence: head!.sequence + 1, event_hash: head!.event_hash };
    expect(verifyChain(tail, { after: wrongSequence }).first_failure).toMatchObject({
      index: 0,
      error: 'sequence_gap',
    });
  });

  it('sealEvents continues from a head exactly as if sealed in one go', () => {
    const remaining = drafts(6).slice(3);
    expect(sealEvents(head, remaining)).toEqual(tail);
    expect((sealEvents(head, remaining)[0] as TraceEvent).sequence).toBe(3);
    expect((sealEvents(head, remaining)[0] as TraceEvent).previous_event_hash).toBe(
      (prefix[2] as TraceEvent).event_hash,
    );
  });

  it('sealEvents from an empty chain starts at genesis; an empty batch seals nothing', () => {
    const [first] = sealEvents(null, drafts(1));
    expect(first).toMatchObject({ sequence: 0, previous_event_hash: GENESIS_HASH });
    expect(sealEvents(head, [])).toEqual([]);
  });
});

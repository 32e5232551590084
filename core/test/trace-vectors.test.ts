import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { computeEventHash, sealEvents } from '../src/trace/chain.js';
import { verifyChain } from '../src/trace/verify.js';
import type { EventDraft, TraceEvent } from '../src/trace/types.js';

const vectorsPath = fileURLToPath(new URL('./fixtures/trace-vectors.jsonl', import.meta.url));
const vectors = readFileSync(vectorsPath, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as TraceEvent);

describe('trace-vectors.jsonl (CRA-SPEC §6.2)', () => {
  it('holds a three-event chain', () => {
    expect(vectors).toHaveLength(3);
  });

  it.each(vectors.map((event, index) => [index, event] as const))('reproduces the hash of event %i', (_i, event) => {
    expect(computeEventHash(event)).toBe(event.event_hash);
  });

  it('re-seals the drafts into exactly the same chain', () => {
    const drafts = vectors.map(
      ({ sequence: _s, previous_event_hash: _p, event_hash: _h, ...draft }) => draft as EventDraft,
    );
    const sealed = sealEvents(null, drafts);
    expect(sealed.map((e) => e.event_hash)).toEqual(vectors.map((e) => e.event_hash));
    expect(sealed.map((e) => e.previous_event_hash)).toEqual(vectors.map((e) => e.previous_event_hash));
  });

  it('verifies', () => {
    expect(verifyChain(vectors)).toMatchObject({ valid: true, event_count: 3 });
  });
});

import { describe, expect, it } from 'vitest';
import { gcra } from '../src/limits/gcra.js';

const limit = { requests: 10, windowSeconds: 60 };

describe('gcra', () => {
  it('admits a burst of `requests`, then refuses with the time to the next slot', () => {
    let tat: number | undefined;
    for (let i = 0; i < 10; i++) {
      const d = gcra(tat, 0, limit);
      expect(d.allowed).toBe(true);
      expect(d.remaining).toBe(9 - i);
      tat = d.tat;
    }
    const refused = gcra(tat, 0, limit);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 6000 });
    expect(gcra(tat, 6000, limit).allowed).toBe(true);
  });

  it('starts afresh when the clock went back by more than a window', () => {
    const ahead = gcra(undefined, 1_000_000, limit).tat;
    expect(gcra(ahead, 0, limit).allowed).toBe(true);
  });
});

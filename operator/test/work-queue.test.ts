import { describe, expect, it } from 'vitest';
import { ControllerRateLimiter, WorkQueue, type Clock } from '../src/queue/work-queue.js';

function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => void (t.live = false) };
    },
    advance(ms) {
      now += ms;
      for (const t of timers.filter((x) => x.live && x.at <= now).sort((a, b) => a.at - b.at)) {
        t.live = false;
        t.fn();
      }
    },
  };
}

describe('work queue', () => {
  it('collapses repeated adds of a waiting key', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands out a key while it is processed; a change meanwhile runs once more after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    q.add('a');
    expect(q.length).toBe(0);
    q.done(key!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
    q.done('a');
    expect(q.length).toBe(0);
  });

  it('wakes a waiting getter and returns undefined after shutdown', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.add('x');
    expect(await waiting).toBe('x');
    const pending = q.get();
    q.shutDown();
    expect(await pending).toBeUndefined();
  });

  it('backs off exponentially per item and resets on forget', () => {
    const clock = fakeClock();
    const limiter = new ControllerRateLimiter({ baseDelayMs: 5, maxDelayMs: 1000, qps: 1e9, burst: 1e9 }, clock);
    expect([1, 2, 3, 4].map(() => limiter.when('k'))).toEqual([5, 10, 20, 40]);
    expect(limiter.when('other')).toBe(5);
    for (let i = 0; i < 20; i++) limiter.when('k');
    expect(limiter.when('k')).toBe(1000);
    limiter.forget('k');
    expect(limiter.when('k')).toBe(5);
  });

  it('limits globally with a token bucket once the burst is spent', () => {
    const clock = fakeClock();
    const limiter = new ControllerRateLimiter({ baseDelayMs: 0, maxDelayMs: 0, qps: 10, burst: 2 }, clock);
    expect(limiter.when('a')).toBe(0);
    expect(limiter.when('b')).toBe(0);
    expect(limiter.when('c')).toBeCloseTo(100);
  });

  it('adds rate-limited keys after their delay', async () => {
    const clock = fakeClock();
    const q = new WorkQueue(
      new ControllerRateLimiter({ baseDelayMs: 50, maxDelayMs: 1000, qps: 1e9, burst: 1e9 }, clock),
      clock,
    );
    q.addRateLimited('k');
    expect(q.length).toBe(0);
    clock.advance(49);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
  });
});

/**
 * The shared rate limiter against a real redis-server on loopback: the Lua script computes what
 * limits/gcra.ts computes, replicas draw from one bucket, peek takes nothing, the replicas' own
 * clocks do not matter (Redis TIME), and with Redis down each replica limits locally with its
 * share of the limit (never unlimited), returning to Redis by itself.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { redisPing, startRedis, type RedisInstance } from '../../e2e/harness/redis.js';
import { waitUntil } from '../../e2e/harness/process.js';
import { gcra } from '../src/limits/gcra.js';
import type { Limit } from '../src/limits/types.js';
import { createRedis, type RedisConnection } from '../src/store/redis/client.js';
import { RedisRateLimiter, shareOf, type LimiterModeChange } from '../src/store/redis/rate-limiter.js';

let redis: RedisInstance;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
  // A failed test must not leave Redis down for the next one.
  if (!(await redisPing(redis.port).catch(() => ''))) await redis.restart();
});
afterAll(async () => {
  await redis?.stop();
});

async function connection(): Promise<RedisConnection> {
  const conn = createRedis(redis.url, { keyPrefix: 'test:', maxReconnectDelayMs: 100 });
  expect(await conn.connect()).toBe(true);
  open.push(conn);
  return conn;
}

async function limiter(
  options: Partial<ConstructorParameters<typeof RedisRateLimiter>[1]> = {},
): Promise<RedisRateLimiter> {
  const l = new RedisRateLimiter(await connection(), {
    instanceId: randomUUID(),
    probeIntervalMs: 50,
    ...options,
  });
  await l.start();
  open.push(l);
  return l;
}

const key = () => `agent:${randomUUID()}`;

async function redisNow(conn: RedisConnection): Promise<number> {
  const [s, us] = await conn.client.time();
  return Number(s) * 1000 + Number(us) / 1000;
}

describe('GCRA in Redis', () => {
  it('admits a burst of N, refuses N+1 with a retry-after of about one interval, and takes nothing when refused', async () => {
    const l = await limiter();
    const limit: Limit = { requests: 5, windowSeconds: 3600 }; // one token per 720 s
    const k = key();
    const decisions = [];
    for (let i = 0; i < 5; i += 1) decisions.push(await l.take(k, limit));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true]);
    expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0]);
    expect(decisions[0]!.resetMs).toBe(720_000);
    const refused = await l.take(k, limit);
    expect(refused).toMatchObject({ allowed: false, limit: 5, remaining: 0 });
    expect(refused.retryAfterMs).toBeGreaterThan(700_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(720_000);
    expect(refused.resetMs).toBeGreaterThan(3_500_000);
    const again = await l.take(k, limit);
    expect(again.allowed).toBe(false);
    expect(again.retryAfterMs).toBeLessThanOrEqual(refused.retryAfterMs);
    expect(l.mode()).toBe('redis');
  });

  it('refills: after retry-after one more request is admitted', async () => {
    const l = await limiter();
    const limit: Limit = { requests: 4, windowSeconds: 1 }; // one token per 250 ms
    const k = key();
    for (let i = 0; i < 4; i += 1) expect((await l.take(k, limit)).allowed).toBe(true);
    const refused = await l.take(k, limit);
    expect(refused.allowed).toBe(false);
    await new Promise((r) => setTimeout(r, refused.retryAfterMs + 5));
    expect((await l.take(k, limit)).allowed).toBe(true);
  });

  it('computes what limits/gcra.ts computes for any stored state (bracketed by the Redis time before and after)', async () => {
    const l = await limiter({ namespace: 'prop:' });
    const conn = await connection();
    let seed = 42;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 200; i += 1) {
      const limit: Limit = { requests: 1 + Math.floor(rand() * 20), windowSeconds: 1 + Math.floor(rand() * 600) };
      const windowMs = limit.windowSeconds * 1000;
      const cost = 1 + Math.floor(rand() * 3);
      const k = `k${i}`;
      const t0 = await redisNow(conn);
      // TAT anywhere from "full bucket" (in the past) to well beyond the window.
      const tat = rand() < 0.15 ? undefined : t0 + (rand() * 1.4 - 0.2) * windowMs;
      if (tat !== undefined) await conn.client.set(`prop:${k}`, tat.toFixed(3));
      const take = rand() < 0.5;
      const got = take ? await l.take(k, limit, cost) : await l.peek(k, limit, cost);
      const t1 = await redisNow(conn);
      const early = gcra(tat, t0, limit, cost);
      const late = gcra(tat, t1, limit, cost);
      if (early.allowed !== late.allowed) continue; // on the boundary within the round trip
      expect(got.allowed, JSON.stringify({ limit, cost, tat, t0 })).toBe(early.allowed);
      expect(got.limit).toBe(limit.requests);
      expect(got.remaining).toBeGreaterThanOrEqual(Math.min(early.remaining, late.remaining));
      expect(got.remaining).toBeLessThanOrEqual(Math.max(early.remaining, late.remaining));
      expect(got.retryAfterMs).toBeGreaterThanOrEqual(late.retryAfterMs - 1);
      expect(got.retryAfterMs).toBeLessThanOrEqual(early.retryAfterMs + 1);
      expect(got.resetMs).toBeGreaterThanOrEqual(late.resetMs - 1);
      expect(got.resetMs).toBeLessThanOrEqual(early.resetMs + 1);
      const stored = await conn.client.get(`prop:${k}`);
      if (take && got.allowed) {
        expect(Number(stored)).toBeGreaterThanOrEqual(Math.min(early.tat, late.tat) - 1);
        expect(Number(stored)).toBeLessThanOrEqual(Math.max(early.tat, late.tat) + 1);
        // The key lives until the bucket is full again.
        const pttl = await conn.client.pttl(`prop:${k}`);
        expect(pttl).toBeGreaterThan(0);
        expect(pttl).toBeLessThanOrEqual(Math.ceil(Math.max(early.tat, late.tat) - t0) + 1);
      } else {
        expect(stored).toBe(tat === undefined ? null : tat.toFixed(3));
      }
    }
  });

  it('peek takes nothing', async () => {
    const l = await limiter();
    const limit: Limit = { requests: 3, windowSeconds: 3600 };
    const k = key();
    for (let i = 0; i < 10; i += 1) expect(await l.peek(k, limit)).toMatchObject({ allowed: true, remaining: 2 });
    for (let i = 0; i < 3; i += 1) expect((await l.take(k, limit)).allowed).toBe(true);
    expect((await l.peek(k, limit)).allowed).toBe(false);
    expect((await l.take(k, limit)).allowed).toBe(false);
  });

  it('two replicas share one limit', async () => {
    const a = await limiter();
    const b = await limiter();
    const limit: Limit = { requests: 10, windowSeconds: 3600 };
    const k = key();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).take(k, limit)));
    expect(results.filter((d) => d.allowed)).toHaveLength(10);
    expect((await a.peek(k, limit)).allowed).toBe(false);
    expect((await b.peek(k, limit)).allowed).toBe(false);
  });

  it("replicas' clocks do not matter: the script uses Redis TIME", async () => {
    const hour = 3_600_000;
    const ahead = await limiter({ now: () => Date.now() + hour });
    const behind = await limiter({ now: () => Date.now() - hour });
    const limit: Limit = { requests: 4, windowSeconds: 60 };
    const k = key();
    const seen = [];
    for (let i = 0; i < 6; i += 1) seen.push(await (i % 2 ? ahead : behind).take(k, limit));
    expect(seen.map((d) => d.allowed)).toEqual([true, true, true, true, false, false]);
    for (const d of seen.slice(4)) {
      expect(d.retryAfterMs).toBeGreaterThan(0);
      expect(d.retryAfterMs).toBeLessThanOrEqual(15_000);
    }
  });

  it('keys live under the client key prefix and the limiter namespace', async () => {
    const l = await limiter();
    const k = key();
    await l.take(k, { requests: 5, windowSeconds: 60 });
    const raw = createRedis(redis.url, { keyPrefix: '' });
    open.push(raw);
    await raw.connect();
    expect(await raw.client.exists(`test:ratelimit:${k}`)).toBe(1);
  });
});

describe('Redis unreachable', () => {
  it('shares are floor(requests / replicas), at least 1', () => {
    expect(shareOf({ requests: 10, windowSeconds: 60 }, 2)).toEqual({ requests: 5, windowSeconds: 60 });
    expect(shareOf({ requests: 10, windowSeconds: 60 }, 3)).toEqual({ requests: 3, windowSeconds: 60 });
    expect(shareOf({ requests: 1, windowSeconds: 60 }, 5)).toEqual({ requests: 1, windowSeconds: 60 });
    expect(shareOf({ requests: 7, windowSeconds: 60 }, 0)).toEqual({ requests: 7, windowSeconds: 60 });
  });

  it('falls back to the configured share (limit 10, replicas 2 → 5), never unlimited, and returns to Redis by itself', async () => {
    const changes: LimiterModeChange[] = [];
    const l = await limiter({ replicas: 2, onModeChange: (c) => changes.push(c) });
    const limit: Limit = { requests: 10, windowSeconds: 3600 };
    const tiny: Limit = { requests: 1, windowSeconds: 3600 };
    const k = key();
    expect((await l.take(k, limit)).allowed).toBe(true);

    await redis.kill();
    const during = [];
    for (let i = 0; i < 8; i += 1) during.push(await l.take(k, limit));
    expect(l.mode()).toBe('local-fallback');
    expect(during.filter((d) => d.allowed)).toHaveLength(5);
    expect(during[0]).toMatchObject({ allowed: true, limit: 5, remaining: 4 });
    expect(during[5]).toMatchObject({ allowed: false, limit: 5 });
    expect(during[5]!.retryAfterMs).toBeGreaterThan(0);
    // A limit smaller than the replica count still admits one, and only one.
    const t = key();
    expect((await l.take(t, tiny)).allowed).toBe(true);
    expect((await l.take(t, tiny)).allowed).toBe(false);
    expect(l.health()).toMatchObject({ ok: true, mode: 'local-fallback', replicas: 2, replicasSource: 'config' });
    expect(changes.map((c) => c.mode)).toEqual(['local-fallback']);
    expect(changes[0]).toMatchObject({ previous: 'redis', replicas: 2 });

    await redis.restart();
    await waitUntil(async () => l.mode() === 'redis', { description: 'limiter back on redis', timeoutMs: 15_000 });
    expect(changes.map((c) => c.mode)).toEqual(['local-fallback', 'redis']);
    // The restarted Redis has no state: the full limit again, from the shared bucket.
    const after = await l.take(k, limit);
    expect(after).toMatchObject({ allowed: true, limit: 10, remaining: 9 });
    expect(l.health()).toMatchObject({ mode: 'redis' });
  });

  it('without cluster.replicas the share comes from the live replicas seen through the heartbeat', async () => {
    const a = await limiter({ heartbeatIntervalMs: 60_000 });
    const b = await limiter({ heartbeatIntervalMs: 60_000 });
    await a.start(); // sees b's heartbeat too
    expect(a.replicas()).toBe(2);
    expect(a.health()).toMatchObject({ replicas: 2, replicasSource: 'heartbeat' });
    const limit: Limit = { requests: 10, windowSeconds: 3600 };
    const k = key();

    await redis.kill();
    const during = [];
    for (let i = 0; i < 8; i += 1) during.push(await a.take(k, limit));
    expect(a.mode()).toBe('local-fallback');
    expect(during.filter((d) => d.allowed)).toHaveLength(5);

    // The other replica limits with its own share, separately.
    const other = [];
    for (let i = 0; i < 8; i += 1) other.push(await b.take(k, limit));
    expect(other.filter((d) => d.allowed)).toHaveLength(5);

    await redis.restart();
    await waitUntil(async () => a.mode() === 'redis' && b.mode() === 'redis', {
      description: 'both limiters back on redis',
      timeoutMs: 15_000,
    });
  });

  it('a limiter created while Redis is down starts in local-fallback and moves to Redis once it is up', async () => {
    await redis.kill();
    const conn = createRedis(redis.url, { keyPrefix: 'test:', maxReconnectDelayMs: 100, connectTimeoutMs: 500 });
    open.push(conn);
    expect(await conn.connect()).toBe(false);
    const l = new RedisRateLimiter(conn, { instanceId: randomUUID(), probeIntervalMs: 50 });
    open.push(l);
    await l.start();
    expect(l.mode()).toBe('local-fallback');
    expect(l.replicas()).toBe(1);
    const limit: Limit = { requests: 3, windowSeconds: 3600 };
    const k = key();
    const during = [];
    for (let i = 0; i < 5; i += 1) during.push(await l.take(k, limit));
    expect(during.filter((d) => d.allowed)).toHaveLength(3);

    await redis.restart();
    await waitUntil(async () => l.mode() === 'redis', { description: 'limiter on redis', timeoutMs: 15_000 });
    expect(await l.take(k, limit)).toMatchObject({ allowed: true, remaining: 2 });
  });
});

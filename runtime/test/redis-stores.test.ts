/**
 * The Redis stores against a real redis-server on loopback: resolutions expire a grace period
 * after their expiry, idempotency claims are atomic across connections (20 concurrent claims →
 * exactly one `new`), the cache's clear is one generation bump, and an unreachable Redis is a
 * 503 for the stores and a miss for the cache.
 */
import { randomUUID } from 'node:crypto';
import { type CARPExecutionResult, type CARPResolution, type TraceEvent } from '@cra/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '../../e2e/harness/process.js';
import { redisPing, startRedis, type RedisInstance } from '../../e2e/harness/redis.js';
import type { ResolutionRecord, Stores } from '../src/store/ports.js';
import { RedisCache } from '../src/store/redis/cache.js';
import { createRedis, type RedisConnection } from '../src/store/redis/client.js';
import { RedisIdempotencyStore } from '../src/store/redis/idempotency-store.js';
import { RedisResolutionStore } from '../src/store/redis/resolution-store.js';
import { RedisTraceFanout } from '../src/store/redis/trace-fanout.js';
import { withRedis } from '../src/store/redis/stores.js';

let redis: RedisInstance;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
  if (!(await redisPing(redis.port).catch(() => ''))) await redis.restart();
});
afterAll(async () => {
  await redis?.stop();
});

async function connection(keyPrefix = 'cra:'): Promise<RedisConnection> {
  const conn = createRedis(redis.url, { keyPrefix, maxReconnectDelayMs: 100 });
  expect(await conn.connect()).toBe(true);
  open.push(conn);
  return conn;
}

function record(expiresAt: number): ResolutionRecord {
  const resolution = {
    carp_version: '1.0',
    resolution_id: randomUUID(),
    session_id: randomUUID(),
    decision: { type: 'allow' },
    ttl: { resolution_expires_at: new Date(expiresAt).toISOString(), refresh_hint_seconds: 240 },
    context_blocks: [],
    allowed_actions: [],
    denied_actions: [],
  } as unknown as CARPResolution;
  return { resolution, agent_id: 'dev-agent', risk_tier: 'low' };
}

function result(executionId: string = randomUUID()): CARPExecutionResult {
  return { execution_id: executionId, status: 'completed' } as unknown as CARPExecutionResult;
}

describe('RedisResolutionStore', () => {
  it('stores and reads a record; another replica (connection) reads it too', async () => {
    const a = new RedisResolutionStore(await connection());
    const b = new RedisResolutionStore(await connection());
    const r = record(Date.now() + 300_000);
    await a.put(r);
    expect(await b.get(r.resolution.resolution_id)).toEqual(r);
    expect(await b.get(randomUUID())).toBeNull();
    expect(await a.prune(Date.now())).toBe(0);
  });

  it('expires a grace period after resolution_expires_at', async () => {
    const conn = await connection();
    const store = new RedisResolutionStore(conn, { graceMs: 60_000 });
    const r = record(Date.now() + 300_000);
    await store.put(r);
    const pttl = await conn.client.pttl(`resolution:${r.resolution.resolution_id}`);
    expect(pttl).toBeGreaterThan(300_000);
    expect(pttl).toBeLessThanOrEqual(360_000);

    const short = new RedisResolutionStore(conn, { graceMs: 50 });
    const gone = record(Date.now() + 50);
    await short.put(gone);
    expect(await short.get(gone.resolution.resolution_id)).not.toBeNull();
    await waitUntil(async () => (await short.get(gone.resolution.resolution_id)) === null, {
      description: 'the resolution to expire',
      timeoutMs: 5_000,
      intervalMs: 20,
    });
  });
});

describe('RedisIdempotencyStore', () => {
  it('claim → in_progress → complete → done; release leaves a completed key alone', async () => {
    const store = new RedisIdempotencyStore(await connection());
    const rid = randomUUID();
    const expires = Date.now() + 300_000;
    expect(await store.claim(rid, 'k1', expires)).toEqual({ state: 'new' });
    expect(await store.claim(rid, 'k1', expires)).toEqual({ state: 'in_progress' });
    expect(await store.claim(rid, 'k2', expires)).toEqual({ state: 'new' });
    expect(await store.claim(randomUUID(), 'k1', expires)).toEqual({ state: 'new' });
    const done = result();
    await store.complete(rid, 'k1', done);
    expect(await store.claim(rid, 'k1', expires)).toEqual({ state: 'done', result: done });
    await store.release(rid, 'k1');
    expect(await store.claim(rid, 'k1', expires)).toEqual({ state: 'done', result: done });
  });

  it('release frees an in-progress claim so a retry may run', async () => {
    const store = new RedisIdempotencyStore(await connection());
    const rid = randomUUID();
    const expires = Date.now() + 300_000;
    expect(await store.claim(rid, 'key', expires)).toEqual({ state: 'new' });
    await store.release(rid, 'key');
    expect(await store.claim(rid, 'key', expires)).toEqual({ state: 'new' });
  });

  it('20 concurrent claims from several replicas → exactly one new', async () => {
    const stores = await Promise.all(
      Array.from({ length: 4 }, async () => new RedisIdempotencyStore(await connection())),
    );
    const rid = randomUUID();
    const expires = Date.now() + 300_000;
    const claims = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 4]!.claim(rid, 'race', expires)));
    expect(claims.filter((c) => c.state === 'new')).toHaveLength(1);
    expect(claims.filter((c) => c.state === 'in_progress')).toHaveLength(19);
  });

  it('a claim lives until the resolution expires plus the grace, then it is new again', async () => {
    const conn = await connection();
    const store = new RedisIdempotencyStore(conn, { graceMs: 30 });
    const rid = randomUUID();
    expect(await store.claim(rid, 'k', Date.now() + 30)).toEqual({ state: 'new' });
    const pttl = await conn.client.pttl(`idempotency:${rid}:k`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(60);
    await waitUntil(async () => (await store.claim(rid, 'k', Date.now() + 300_000)).state === 'new', {
      description: 'the claim to expire',
      timeoutMs: 5_000,
      intervalMs: 20,
    });
  });

  it('a completion outliving its claim is still remembered for the grace period', async () => {
    const conn = await connection();
    const store = new RedisIdempotencyStore(conn, { graceMs: 120_000 });
    const rid = randomUUID();
    await store.complete(rid, 'late', result('e1'));
    expect(await store.claim(rid, 'late', Date.now() + 10)).toMatchObject({ state: 'done' });
    expect(await conn.client.pttl(`idempotency:${rid}:late`)).toBeGreaterThan(60_000);
  });
});

describe('RedisCache', () => {
  it('round-trips JSON with a TTL, shared between replicas', async () => {
    const a = new RedisCache<{ n: number; s: string[] }>(await connection(), 'c1');
    const b = new RedisCache<{ n: number; s: string[] }>(await connection(), 'c1');
    await a.set('x', { n: 1, s: ['a'] }, 60_000);
    expect(await b.get('x')).toEqual({ n: 1, s: ['a'] });
    expect(await b.get('missing')).toBeUndefined();
    await a.set('short', { n: 2, s: [] }, 30);
    await waitUntil(async () => (await b.get('short')) === undefined, {
      description: 'the entry to expire',
      timeoutMs: 5_000,
      intervalMs: 20,
    });
    await a.set('never', { n: 3, s: [] }, 0);
    expect(await a.get('never')).toBeUndefined();
  });

  it('clear empties the cache for every replica in one step and leaves other caches alone', async () => {
    const conn = await connection();
    const a = new RedisCache<string>(conn, 'c2');
    const b = new RedisCache<string>(await connection(), 'c2');
    const other = new RedisCache<string>(conn, 'c3');
    for (let i = 0; i < 50; i += 1) await a.set(`k${i}`, `v${i}`, 60_000);
    await other.set('k0', 'kept', 60_000);
    expect(await b.get('k7')).toBe('v7');
    await b.clear();
    expect(await a.get('k7')).toBeUndefined();
    expect(await b.get('k0')).toBeUndefined();
    expect(await other.get('k0')).toBe('kept');
    await a.set('k7', 'new', 60_000);
    expect(await b.get('k7')).toBe('new');
  });
});

describe('the resolution cache (withRedis)', () => {
  it('holds the resolution id and reads the record the resolution store wrote, across replicas', async () => {
    const base = { resolutionCache: undefined } as unknown as Stores;
    const a = withRedis(base, await connection(), { closeRedis: false });
    const b = withRedis(base, await connection(), { closeRedis: false });
    const stored = record(Date.now() + 60_000);
    await Promise.all([a.resolutionCache.set('goal', stored.resolution, 60_000), a.resolutions.put(stored)]);

    expect(await b.resolutionCache.get('goal')).toEqual(stored.resolution);
    // The entry is the id, not a copy of the ~30 kB answer.
    const raw = await connection('');
    const [entry] = await raw.client.keys('cra:cache:resolutions:g*');
    expect(await raw.client.get(entry!)).toBe(stored.resolution.resolution_id);

    // A record gone (expired) before its entry reads as a miss, never as an error.
    await raw.client.del(`cra:resolution:${stored.resolution.resolution_id}`);
    expect(await b.resolutionCache.get('goal')).toBeUndefined();

    // clear drops every entry for every replica.
    const again = record(Date.now() + 60_000);
    await Promise.all([a.resolutionCache.set('goal', again.resolution, 60_000), a.resolutions.put(again)]);
    expect(await b.resolutionCache.get('goal')).toEqual(again.resolution);
    await b.resolutionCache.clear();
    expect(await a.resolutionCache.get('goal')).toBeUndefined();
  });
});

describe('keys, withRedis and outages', () => {
  it('every key lives under the configured prefix', async () => {
    const conn = await connection('tenant-a:');
    await new RedisResolutionStore(conn).put(record(Date.now() + 60_000));
    await new RedisIdempotencyStore(conn).claim(randomUUID(), 'k', Date.now() + 60_000);
    await new RedisCache<string>(conn, 'p').set('k', 'v', 60_000);
    const raw = await connection('');
    const keys = await raw.client.keys('tenant-a:*');
    expect(keys.map((k) => k.replace(/:[^:]+$/, '')).sort()).toEqual([
      'tenant-a:cache:p:g0',
      'tenant-a:idempotency:' + keys.find((k) => k.startsWith('tenant-a:idempotency:'))!.split(':')[2],
      'tenant-a:resolution',
    ]);
    expect(await raw.client.keys('resolution:*')).toEqual([]);
  });

  it('withRedis swaps the shared stores, adds a redis probe; in an outage resolutions fall back to the base store, idempotency is a 503, the cache a miss', async () => {
    const conn = createRedis(redis.url, { maxReconnectDelayMs: 100 });
    await conn.connect();
    let baseClosed = false;
    const kept = new Map<string, ResolutionRecord>();
    const base = {
      resolutions: {
        put: async (rec: ResolutionRecord) => void kept.set(rec.resolution.resolution_id, rec),
        get: async (id: string) => kept.get(id) ?? null,
        prune: async () => 0,
      },
      health: async () => ({ pglite: { ok: true } }),
      close: async () => {
        baseClosed = true;
      },
    } as unknown as Stores;
    const stores = withRedis(base, conn);
    open.push(stores);
    expect(stores.idempotency).toBeInstanceOf(RedisIdempotencyStore);
    expect(stores.resolutionCache).toBeInstanceOf(RedisCache);
    expect(await stores.health()).toEqual({ pglite: { ok: true }, redis: { ok: true } });
    const r = record(Date.now() + 60_000);
    await stores.resolutions.put(r);
    await stores.resolutionCache.set('key', r.resolution, 60_000);

    await redis.kill();
    await waitUntil(async () => !conn.isReady(), { description: 'the client to notice', timeoutMs: 5_000 });
    expect((await stores.health()).redis).toMatchObject({ ok: false });
    expect(kept.size).toBe(0); // written to Redis while it was up
    // Redis is down: reads fall back to the base store (which never had r), writes land there.
    expect(await stores.resolutions.get(r.resolution.resolution_id)).toBeNull();
    const during = record(Date.now() + 60_000);
    await stores.resolutions.put(during);
    expect(kept.has(during.resolution.resolution_id)).toBe(true);
    expect(await stores.resolutions.get(during.resolution.resolution_id)).toEqual(during);
    await expect(stores.idempotency.claim(randomUUID(), 'k', Date.now() + 1000)).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
    expect(await stores.resolutionCache.get('key')).toBeUndefined();
    await stores.resolutionCache.set('key', r.resolution, 60_000);
    await stores.resolutionCache.clear();

    await redis.restart();
    await waitUntil(async () => conn.isReady(), { description: 'the client to reconnect', timeoutMs: 15_000 });
    expect((await stores.health()).redis).toEqual({ ok: true });
    // The clear that could not reach Redis is applied before the next read.
    await conn.client.set('cache:resolutions:generation', '7');
    await stores.resolutionCache.set('key', r.resolution, 60_000);
    expect(await conn.client.get('cache:resolutions:generation')).toBe('8');
    // The restarted Redis lost the record the entry refers to: a miss until it is written again.
    expect(await stores.resolutionCache.get('key')).toBeUndefined();
    await stores.resolutions.put(r);
    expect(await stores.resolutions.get(r.resolution.resolution_id)).toEqual(r);
    expect(await stores.resolutionCache.get('key')).toEqual(r.resolution);

    await stores.close();
    expect(baseClosed).toBe(true);
    expect(conn.status()).toBe('end');
  });
});

describe('RedisTraceFanout', () => {
  it("hands every other replica the events of the appends of one turn in one message, in order, and never a replica's own", async () => {
    const [a, b] = [
      new RedisTraceFanout(await connection(), 'replica-a'),
      new RedisTraceFanout(await connection(), 'replica-b'),
    ];
    open.push(a, b);
    await Promise.all([a.start(), b.start()]);
    const atA: (readonly TraceEvent[])[] = [];
    const atB: (readonly TraceEvent[])[] = [];
    a.subscribe((events) => atA.push(events));
    const stopB = b.subscribe((events) => atB.push(events));
    const event = (sequence: number, text: string) =>
      ({
        session_id: randomUUID(),
        sequence,
        event_type: 'carp.request.received',
        payload: { text },
      }) as unknown as TraceEvent;
    const first = [event(0, 'one → "quoted"'), event(1, 'two')];
    const second = [event(2, 'three \\ \n')];
    a.publish(first);
    a.publish(second);
    await waitUntil(async () => atB.length > 0, { description: 'replica b to receive', timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(atB).toEqual([[...first, ...second]]);
    expect(atA).toEqual([]);

    // With no listener left, b lets messages go by; a new listener gets what is published after it.
    stopB();
    atB.length = 0;
    a.publish([event(3, 'unheard')]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(atB).toEqual([]);
    b.subscribe((events) => atB.push(events));
    const later = [event(4, 'heard')];
    a.publish(later);
    await waitUntil(async () => atB.length > 0, { description: 'replica b to receive again', timeoutMs: 5_000 });
    expect(atB).toEqual([later]);
  });
});

/**
 * The per-agent request limit of the API (CRA-SPEC §9): keyed by the verified identity, the
 * default from config.rateLimit (100/min; 5/60 here to stay small), an AgentIdentity's
 * spec.rateLimit overriding it, RateLimit headers on every answer, 429 RATE_LIMITED with
 * Retry-After when exhausted — and with Redis configured, two runtimes enforce one shared limit.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CARPError, CARPResolution } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../e2e/harness/ports.js';
import { startRedis, type RedisInstance } from '../../e2e/harness/redis.js';
import type { Runtime } from '../src/runtime.js';
import { auth, KEYS, repo, resolveRequest, testRuntime } from './helpers/runtime.js';
import { secretsDir } from './helpers/secrets.js';

const LIMITED_KEY = 'limited-agent-key';
let redis: RedisInstance;
let dir: string;
let identities: string;
let secrets: string;
const runtimes: Runtime[] = [];

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'cra-rl-'));
  identities = join(dir, 'identities.yaml');
  const base = await readFile(repo('examples/local/identities.yaml'), 'utf8');
  await writeFile(
    identities,
    `${base}
---
apiVersion: cra.dev/v1alpha1
kind: AgentIdentity
metadata:
  name: limited-agent
spec:
  agentId: limited-agent
  roles: [agent]
  rateLimit: { requests: 2, windowSeconds: 3600 }
  auth:
    apiKeySecretRef: { name: cra-limited-agent, key: digest }
`,
  );
  secrets = await secretsDir({
    'cra-limited-agent': { digest: createHash('sha256').update(LIMITED_KEY).digest('hex') },
  });
});
afterAll(async () => {
  for (const rt of runtimes) await rt.close();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
  await rm(secrets, { recursive: true, force: true });
});

async function runtime(overrides: Record<string, unknown> = {}): Promise<Runtime> {
  const rt = await testRuntime({
    identities: [identities],
    secretsDir: secrets,
    'rateLimit.requests': 5,
    'rateLimit.windowSeconds': 60,
    'load.maxEventLoopDelayMs': 0, // load shedding is not what this file tests
    ...overrides,
  });
  runtimes.push(rt);
  return rt;
}

const get = (rt: Runtime, key: string) => rt.app.inject({ method: 'GET', url: '/v1/atlases', headers: auth(key) });

/** `RateLimit: limit=5, remaining=4, reset=12` → its numbers. */
function rateLimit(header: unknown): { limit: number; remaining: number; reset: number } {
  const match = /^limit=(\d+), remaining=(\d+), reset=(\d+)$/.exec(String(header));
  expect(match, String(header)).not.toBeNull();
  return { limit: Number(match![1]), remaining: Number(match![2]), reset: Number(match![3]) };
}

/** Reset is when the bucket is full again: k tokens used of a 12 s interval → about 12·k s. */
function expectReset(reset: number, seconds: number): void {
  expect(reset).toBeGreaterThanOrEqual(seconds - 1);
  expect(reset).toBeLessThanOrEqual(seconds);
}

describe('per-agent request limit', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await runtime();
  }, 60_000);

  it('answers with RateLimit headers, then 429 RATE_LIMITED with Retry-After once the 5/60 s are used', async () => {
    for (let i = 0; i < 5; i += 1) {
      const res = await get(rt, KEYS.agent);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['ratelimit-policy']).toBe('5;w=60');
      const rl = rateLimit(res.headers['ratelimit']);
      expect(rl).toMatchObject({ limit: 5, remaining: 4 - i });
      expectReset(rl.reset, 12 * (i + 1));
    }
    const refused = await get(rt, KEYS.agent);
    expect(refused.statusCode).toBe(429);
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(12);
    expect(refused.headers['ratelimit-policy']).toBe('5;w=60');
    expect(rateLimit(refused.headers['ratelimit'])).toMatchObject({ limit: 5, remaining: 0 });
    const body = refused.json<CARPError>();
    expect(body.error.code).toBe('RATE_LIMITED');
    expect(body.error.details).toMatchObject({ scope: 'api', limit: 5, window_seconds: 60 });
    expect(body.retry).toEqual({ retriable: true, retry_after_seconds: retryAfter });

    // Every route of the authenticated API counts, POSTs included; the refusal carries the body's request_id.
    const payload = resolveRequest({});
    const post = await rt.app.inject({ method: 'POST', url: '/v1/resolve', headers: auth(), payload });
    expect(post.statusCode).toBe(429);
    expect(post.json<CARPError>().request_id).toBe(payload.request_id);

    // The limit is per agent: another identity has its own bucket.
    const other = await get(rt, KEYS.approver);
    expect(other.statusCode).toBe(200);
    expect(other.headers['ratelimit']).toBe('limit=5, remaining=4, reset=12'); // a fresh bucket: exactly one interval
    const health = await rt.app.inject({ method: 'GET', url: '/healthz' });
    expect(health.headers['ratelimit']).toBeUndefined();
    const stats = await rt.app.inject({ method: 'GET', url: '/v1/stats', headers: auth(KEYS.admin) });
    expect(stats.json<{ rate_limited_total: number }>().rate_limited_total).toBe(2);
  });

  it("an AgentIdentity's spec.rateLimit overrides the default", async () => {
    const first = await get(rt, LIMITED_KEY);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('2;w=3600');
    expect(first.headers['ratelimit']).toBe('limit=2, remaining=1, reset=1800');
    expect((await get(rt, LIMITED_KEY)).statusCode).toBe(200);
    const refused = await get(rt, LIMITED_KEY);
    expect(refused.statusCode).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(1700);
  });

  it('an unauthenticated request is refused by auth before it costs anything', async () => {
    const res = await rt.app.inject({ method: 'GET', url: '/v1/atlases', headers: auth('not-a-key') });
    expect(res.statusCode).toBe(401);
    expect(res.headers['ratelimit']).toBeUndefined();
  });
});

describe('insecure-none mode', () => {
  it('keys the limit by the agent the request names (auth runs first, in preHandler too)', async () => {
    const rt = await runtime({ 'auth.mode': 'insecure-none', 'rateLimit.requests': 2 });
    const as = (agent: string) =>
      rt.app.inject({ method: 'GET', url: '/v1/atlases', headers: { 'x-agent-id': agent } });
    expect((await as('agent-1')).statusCode).toBe(200);
    expect((await as('agent-1')).statusCode).toBe(200);
    expect((await as('agent-1')).statusCode).toBe(429);
    const other = await as('agent-2');
    expect(other.statusCode).toBe(200);
    expect(other.headers['ratelimit-policy']).toBe('2;w=60');
  }, 60_000);
});

describe('with Redis', () => {
  it('two runtimes sharing a Redis enforce one limit per agent, and share resolutions', async () => {
    const shared = { 'redis.url': redis.url, 'redis.keyPrefix': `t${randomUUID().slice(0, 8)}:` };
    const a = await runtime({ ...shared, 'server.instanceId': 'replica-a' });
    const b = await runtime({ ...shared, 'server.instanceId': 'replica-b' });
    for (const rt of [a, b]) {
      const ready = await rt.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode, ready.body).toBe(200);
      expect(ready.json()).toMatchObject({ rate_limiter: { mode: 'redis' }, stores: { redis: { ok: true } } });
    }

    const answers = [];
    for (let i = 0; i < 8; i += 1) answers.push(await get(i % 2 ? b : a, KEYS.agent));
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    // One bucket: the remaining count runs down across both replicas.
    expect(answers.map((r) => rateLimit(r.headers['ratelimit']).remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0]);
    expect(answers.every((r) => r.headers['ratelimit-policy'] === '5;w=60')).toBe(true);
    expect(Number(answers[5]!.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // A resolution made on one replica is found on the other (CRA-SPEC §3 step 7).
    const resolved = await a.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: auth(KEYS.approver),
      payload: resolveRequest({ agent: 'dev-approver' }),
    });
    expect(resolved.statusCode, resolved.body).toBe(200);
    const id = resolved.json<CARPResolution>().resolution_id;
    const found = await b.app.inject({ method: 'GET', url: `/v1/resolutions/${id}`, headers: auth(KEYS.approver) });
    expect(found.statusCode, found.body).toBe(200);
    expect(found.json<CARPResolution>().resolution_id).toBe(id);
  }, 60_000);

  it('starts with Redis unreachable: not ready, still limiting (local share), resolving on the base store', async () => {
    const port = await freePort();
    const rt = await runtime({ 'redis.url': `redis://127.0.0.1:${port}`, 'cluster.replicas': 2 });
    const ready = await rt.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ rate_limiter: { mode: 'local-fallback' }, stores: { redis: { ok: false } } });
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await get(rt, KEYS.agent));
    expect(answers.map((r) => r.statusCode)).toEqual([200, 200, 429, 429]); // 5 / 2 replicas → 2
    expect(answers[0]!.headers['ratelimit-policy']).toBe('2;w=60');
    const resolved = await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: auth(KEYS.approver),
      payload: resolveRequest({ agent: 'dev-approver' }),
    });
    // Resolutions fall back to the base store while Redis is down; the resolve succeeds.
    expect(resolved.statusCode, resolved.body).toBe(200);
    const id = resolved.json<CARPResolution>().resolution_id;
    const found = await rt.app.inject({ method: 'GET', url: `/v1/resolutions/${id}`, headers: auth(KEYS.approver) });
    expect(found.statusCode).toBe(200);
  }, 60_000);
});

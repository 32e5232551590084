/**
 * Two runtime processes sharing one Redis and one Postgres, as two pods behind a Service would:
 * one rate limit holds across both, one session's chain stays continuous across both, and
 * killing Redis or Postgres mid-load loses no acknowledged event.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CARPResolution, TraceEvent } from '@cra/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresInstance } from '../harness/postgres.js';
import { startRedis, type RedisInstance } from '../harness/redis.js';
import { REPO_ROOT, startRuntimeProcess, type RuntimeProcess } from '../harness/runtime-process.js';

let redis: RedisInstance;
let pg: PostgresInstance;
const temps: string[] = [];
const started: RuntimeProcess[] = [];
let dbs = 0;

beforeAll(async () => {
  [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
}, 120_000);
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop()));
});
afterAll(async () => {
  await Promise.all([redis?.stop(), pg?.stop()]);
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

const KEY = 'dev-agent-key';
function v7(): string {
  // Time-ordered UUIDv7: 48-bit ms timestamp, version 7, variant 10.
  const ms = Date.now().toString(16).padStart(12, '0');
  const rand = crypto.getRandomValues(new Uint8Array(10));
  const hex = [...rand].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${hex.slice(0, 3)}-${((parseInt(hex.slice(3, 4), 16) & 0x3) | 0x8).toString(16)}${hex.slice(4, 7)}-${hex.slice(7, 19)}`;
}

async function replicas(extra: Record<string, string> = {}): Promise<[RuntimeProcess, RuntimeProcess, string]> {
  dbs += 1;
  const url = await pg.createDatabase(`replicas_${dbs}`);
  const dirs = await Promise.all([0, 1].map(() => mkdtemp(join(tmpdir(), 'cra-replica-'))));
  temps.push(...dirs);
  const env = (i: number): Record<string, string> => ({
    CRA_ATLASES: `${REPO_ROOT}atlases`,
    CRA_IDENTITIES: `${REPO_ROOT}examples/local/identities.yaml`,
    CRA_SECRETS_DIR: `${REPO_ROOT}examples/local/secrets`,
    CRA_STORE: 'postgres',
    CRA_POSTGRES_URL: url,
    CRA_REDIS_URL: redis.url,
    CRA_REDIS_KEY_PREFIX: `cra-${dbs}:`,
    CRA_DATA_DIR: dirs[i]!,
    CRA_INSTANCE_ID: `replica-${i}`,
    CRA_REPLICAS: '2',
    ...extra,
  });
  const [a, b] = await Promise.all([0, 1].map((i) => startRuntimeProcess({ name: `replica-${i}`, env: env(i) })));
  started.push(a!, b!);
  return [a!, b!, url];
}

function resolveBody(session: string, goal = 'Open an issue about the login crash'): Record<string, unknown> {
  return {
    carp_version: '1.0',
    request_id: v7(),
    timestamp: new Date().toISOString(),
    operation: 'resolve',
    requester: { agent_id: 'dev-agent', session_id: session },
    task: { goal, risk_tier: 'low' },
  };
}

async function post(base: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function chain(base: string, session: string): Promise<TraceEvent[]> {
  const res = await fetch(`${base}/v1/traces/${session}`, { headers: { authorization: `Bearer ${KEY}` } });
  return ((await res.json()) as { events: TraceEvent[] }).events;
}

describe('two runtime processes sharing Redis and Postgres', () => {
  it('enforce one per-agent rate limit across both replicas', async () => {
    const [a, b] = await replicas({ CRA_RATE_LIMIT_REQUESTS: '20', CRA_RATE_LIMIT_WINDOW_SECONDS: '600' });
    const session = v7();
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++)
      statuses.push((await post(i % 2 ? a.url : b.url, '/v1/resolve', resolveBody(session))).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
  }, 120_000);

  it("keep one session's chain continuous when both append to it concurrently", async () => {
    const [a, b] = await replicas();
    const session = v7();
    expect((await post(a.url, '/v1/resolve', resolveBody(session))).status).toBe(200);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        post(i % 2 ? a.url : b.url, '/v1/resolve', resolveBody(session, `goal ${i}`)),
      ),
    );
    expect(results.map((r) => r.status).every((s) => s === 200)).toBe(true);
    const events = await chain(b.url, session);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i));
    expect(new Set(events.map((e) => e.source.instance_id))).toEqual(new Set(['replica-0', 'replica-1']));
    const verify = (await (
      await fetch(`${a.url}/v1/traces/${session}/verify`, { headers: { authorization: `Bearer ${KEY}` } })
    ).json()) as {
      valid: boolean;
    };
    expect(verify.valid).toBe(true);
    // A resolution made on one replica executes on the other.
    const r = (await (
      await post(a.url, '/v1/resolve', { ...resolveBody(session), task: { goal: 'merge', risk_tier: 'high' } })
    ).json()) as CARPResolution;
    const grant = r.allowed_actions.find((g) => g.action_type === 'api.github.merge_pull_request')!;
    const exec = await post(b.url, '/v1/execute', {
      carp_version: '1.0',
      request_id: v7(),
      timestamp: new Date().toISOString(),
      operation: 'execute',
      requester: { agent_id: 'dev-agent', session_id: session },
      action: {
        action_id: grant.action_id,
        action_type: grant.action_type,
        resolution_id: r.resolution_id,
        parameters: { owner: 'o', repo: 'r', pull_number: 1, merge_method: 'squash' },
      },
    });
    expect(exec.status).toBe(202);
  }, 120_000);

  it('stream a session live over WebSocket from one replica while another appends to it', async () => {
    const [a, b] = await replicas();
    const session = v7();
    expect((await post(a.url, '/v1/resolve', resolveBody(session))).status).toBe(200);
    const token = Buffer.from(KEY).toString('base64url');
    const socket = new WebSocket(`${a.url.replace('http', 'ws')}/v1/trace`, ['cra.trace.v1', `cra.bearer.${token}`]);
    const frames: { type: string; event?: TraceEvent }[] = [];
    socket.addEventListener('message', (m) =>
      frames.push(JSON.parse(String(m.data)) as { type: string; event?: TraceEvent }),
    );
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve());
      socket.addEventListener('error', () => reject(new Error('websocket failed')));
    });
    socket.send(JSON.stringify({ type: 'subscribe', session_id: session, event_types: ['carp.resolution.completed'] }));
    for (let i = 0; i < 50 && !frames.some((f) => f.type === 'subscribed'); i++)
      await new Promise((r) => setTimeout(r, 50));
    // Appended on replica B, streamed by replica A.
    expect((await post(b.url, '/v1/resolve', resolveBody(session, 'seen elsewhere'))).status).toBe(200);
    for (let i = 0; i < 100 && !frames.some((f) => f.type === 'event'); i++)
      await new Promise((r) => setTimeout(r, 50));
    socket.close();
    const events = frames.filter((f) => f.type === 'event').map((f) => f.event!);
    expect(events).toHaveLength(1);
    expect(events[0]!.source.instance_id).toBe('replica-1');
  }, 120_000);

  it('lose no acknowledged event when Redis and then Postgres are killed mid-load', async () => {
    const [a, b] = await replicas({ CRA_RATE_LIMIT_REQUESTS: '1000000' });
    const session = v7();
    expect((await post(a.url, '/v1/resolve', resolveBody(session))).status).toBe(200);
    let acknowledged = 1;
    let stop = false;
    const load = (async () => {
      let i = 0;
      while (!stop) {
        i += 1;
        const res = await post(i % 2 ? a.url : b.url, '/v1/resolve', resolveBody(session, `load ${i}`)).catch(
          () => undefined,
        );
        if (res?.status === 200) acknowledged += 1;
        else if (res && res.status !== 503) throw new Error(`unexpected ${res.status}: ${await res.text()}`);
      }
    })();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1500));
    await pg.kill();
    await new Promise((r) => setTimeout(r, 1500));
    await pg.restart();
    await redis.restart();
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await load;
    // Both replicas drain their outboxes.
    for (let i = 0; i < 150; i++) {
      const ready = await Promise.all(
        [a, b].map(
          async (p) =>
            (await (await fetch(`${p.url}/readyz`)).json()) as { stores: { postgres?: { detail?: string } } },
        ),
      );
      if (ready.every((r) => /outbox 0 pending/.test(r.stores.postgres?.detail ?? ''))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const events = await chain(a.url, session);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i));
    const completed = events.filter((e) => e.event_type === 'carp.resolution.completed').length;
    expect(completed).toBeGreaterThanOrEqual(acknowledged);
    expect(acknowledged).toBeGreaterThan(5);
  }, 180_000);
});

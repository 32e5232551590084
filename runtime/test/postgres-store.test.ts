/**
 * The Postgres trace store against a real PostgreSQL on loopback: migrations run by several
 * runtimes at once, one gap-free chain when several runtimes append to the same session, and no
 * acknowledged event lost when Postgres dies mid-load (spool) — or a 503 when configured fail-closed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CraError, randomIds, verifyChain, type CARPResolution, type EventDraft, type TraceEvent } from '@cra/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresInstance } from '../../e2e/harness/postgres.js';
import type { Runtime } from '../src/runtime.js';
import { openPostgres } from '../src/store/postgres/pg-client.js';
import { migrate } from '../src/store/sql/migrations.js';
import { createSqlStores } from '../src/store/sql/stores.js';
import { ChainHeads, SqlTraceStore } from '../src/store/sql/trace-store.js';
import { auth, resolveRequest, testRuntime } from './helpers/runtime.js';

let pg: PostgresInstance;
const temps: string[] = [];

beforeAll(async () => {
  pg = await startPostgres();
});
afterEach(async () => {
  // A failed test must not leave Postgres down for the next one.
  if (!(await pg.psql('SELECT 1').catch(() => false))) await pg.restart();
});
afterAll(async () => {
  await pg?.stop();
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

let dbCounter = 0;
async function database(): Promise<string> {
  dbCounter += 1;
  return pg.createDatabase(`cra_${process.pid}_${dbCounter}`);
}

async function runtimeOn(url: string, extra: Record<string, unknown> = {}): Promise<Runtime> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cra-pg-'));
  temps.push(dataDir);
  return testRuntime({ 'store.kind': 'postgres', 'store.postgresUrl': url, dataDir, ...extra });
}

async function resolveIn(rt: Runtime, session: string, goal = 'Open an issue'): Promise<number> {
  const res = await rt.app.inject({
    method: 'POST',
    url: '/v1/resolve',
    headers: auth(),
    payload: resolveRequest({ session, goal }),
  });
  return res.statusCode;
}

async function chainOf(url: string, session: string): Promise<TraceEvent[]> {
  const client = openPostgres({ url });
  try {
    const rows = await client.query<{ event: string }>(
      'SELECT event FROM cra_trace_events WHERE session_id = $1 ORDER BY sequence',
      [session],
    );
    return rows.map((r) => JSON.parse(r.event) as TraceEvent);
  } finally {
    await client.close();
  }
}

describe('migrations', () => {
  it('run once when several runtimes start at the same time', async () => {
    const url = await database();
    const clients = Array.from({ length: 4 }, () => openPostgres({ url }));
    try {
      const applied = await Promise.all(clients.map((c) => migrate(c)));
      expect(applied.flat().sort()).toEqual([1]);
      const rows = await clients[0]!.query<{ n: number }>('SELECT count(*)::int AS n FROM cra_schema_migrations');
      expect(rows[0]!.n).toBe(1);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

describe('one chain per session across runtimes', () => {
  it('stays single and gap-free when two runtimes append to one session concurrently', async () => {
    const url = await database();
    const [a, b] = [await runtimeOn(url), await runtimeOn(url)];
    try {
      const session = randomIds.uuid();
      // Start the session on one replica, then hammer it from both.
      expect(await resolveIn(a, session)).toBe(200);
      const statuses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => resolveIn(i % 2 === 0 ? a : b, session, `goal number ${i}`)),
      );
      expect(statuses.every((s) => s === 200)).toBe(true);
      const chain = await chainOf(url, session);
      expect(verifyChain(chain)).toMatchObject({ valid: true });
      expect(chain.map((e) => e.sequence)).toEqual(chain.map((_, i) => i));
      expect(chain.filter((e) => e.event_type === 'carp.resolution.completed')).toHaveLength(21);
      expect(new Set(chain.map((e) => e.source.instance_id)).size).toBeGreaterThanOrEqual(1);
      const traces = (
        await b.app.inject({ method: 'GET', url: `/v1/traces/${session}/verify`, headers: auth() })
      ).json();
      expect(traces).toMatchObject({ valid: true, event_count: chain.length });
    } finally {
      await a.close();
      await b.close();
    }
  });
});

function drafts(session: string, n: number, label: string): EventDraft[] {
  return Array.from({ length: n }, (_, i) => ({
    trace_version: '1.0',
    event_id: randomIds.uuid(),
    trace_id: randomIds.traceId(),
    span_id: randomIds.spanId(),
    session_id: session,
    timestamp: new Date().toISOString(),
    event_type: 'carp.request.received',
    severity: 'info',
    source: { component: 'test', version: '0', instance_id: label },
    // Quotes, backslashes, a newline and non-ASCII text: the bodies travel as one newline-joined parameter.
    payload: { label, i, text: `line one\nline "two" \\ tab\t → ü 🙂` },
  }));
}

describe('trace appends (one round trip by compare-and-swap on the session head)', () => {
  it('keep one gap-free chain when stores with their own head caches append to one session at once', async () => {
    const url = await database();
    const clients = [openPostgres({ url }), openPostgres({ url })];
    try {
      // Two stores = two replicas: each trusts the head it last wrote, which the other keeps moving.
      const [a, b] = await Promise.all(clients.map((c) => createSqlStores(c)));
      const session = randomIds.uuid();
      expect(
        await a!.sessions.create({
          session_id: session,
          agent_id: 'dev-agent',
          status: 'active',
          metadata: {},
          started_at: new Date().toISOString(),
          event_count: 0,
        }),
      ).toBe(true);
      const appended = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 === 0 ? a! : b!).traces.append(session, drafts(session, 1 + (i % 5), `append ${i}`)),
        ),
      );
      const chain = await chainOf(url, session);
      expect(chain).toHaveLength(appended.flat().length);
      expect(chain.map((e) => e.sequence)).toEqual(chain.map((_, i) => i));
      expect(verifyChain(chain)).toMatchObject({ valid: true });
      // What each append returned is what was stored, byte for byte once parsed.
      const byId = new Map(chain.map((e) => [e.event_id, e]));
      for (const e of appended.flat()) expect(byId.get(e.event_id)).toEqual(e);
      expect(chain[0]!.payload).toMatchObject({ text: 'line one\nline "two" \\ tab\t → ü 🙂' });
      // Both stores read the same head afterwards, and keep appending after the other moved it.
      const head = await b!.traces.head(session);
      expect(head).toEqual({ sequence: chain.length - 1, event_hash: chain.at(-1)!.event_hash });
      await a!.traces.append(session, drafts(session, 2, 'after'));
      await b!.traces.append(session, drafts(session, 2, 'after'));
      const after = await chainOf(url, session);
      expect(after).toHaveLength(chain.length + 4);
      expect(verifyChain(after)).toMatchObject({ valid: true });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('also keep it when one appender always takes the row lock (the fallback after repeated conflicts)', async () => {
    const url = await database();
    const clients = [openPostgres({ url }), openPostgres({ url })];
    try {
      const [stores] = await Promise.all([createSqlStores(clients[0]!), migrate(clients[1]!)]);
      const locking = new SqlTraceStore(clients[1]!, new ChainHeads(), 0);
      const session = randomIds.uuid();
      await stores!.sessions.create({
        session_id: session,
        agent_id: 'dev-agent',
        status: 'active',
        metadata: {},
        started_at: new Date().toISOString(),
        event_count: 0,
      });
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 3 === 0 ? locking : stores!.traces).append(session, drafts(session, 1 + (i % 4), `append ${i}`)),
        ),
      );
      const chain = await chainOf(url, session);
      expect(chain.map((e) => e.sequence)).toEqual(chain.map((_, i) => i));
      expect(chain).toHaveLength(Array.from({ length: 30 }, (_, i) => 1 + (i % 4)).reduce((n, k) => n + k, 0));
      expect(verifyChain(chain)).toMatchObject({ valid: true });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('refuse a session that does not exist, with nothing written', async () => {
    const url = await database();
    const client = openPostgres({ url });
    try {
      const stores = await createSqlStores(client);
      const session = randomIds.uuid();
      await expect(stores.traces.append(session, drafts(session, 3, 'ghost'))).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      await expect(stores.traces.append(session, drafts(session, 3, 'ghost'))).rejects.toBeInstanceOf(CraError);
      expect(await chainOf(url, session)).toEqual([]);
    } finally {
      await client.close();
    }
  });
});

describe('Postgres outage', () => {
  it('spools events while Postgres is down, drains them in order when it returns, loses nothing', async () => {
    const url = await database();
    const rt = await runtimeOn(url);
    try {
      const session = randomIds.uuid();
      expect(await resolveIn(rt, session)).toBe(200);
      await pg.kill();
      const during: number[] = [];
      for (let i = 0; i < 5; i++) during.push(await resolveIn(rt, session, `during outage ${i}`));
      expect(during).toEqual([200, 200, 200, 200, 200]);
      const ready = await rt.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.json().stores.postgres.detail).toMatch(/unreachable; outbox [1-9]\d* pending/);
      await pg.restart();
      // The probe notices and drains; wait for the outbox to empty.
      for (let i = 0; i < 100; i++) {
        const r = await rt.app.inject({ method: 'GET', url: '/readyz' });
        if (/up; outbox 0 pending/.test(r.json().stores.postgres.detail)) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const chain = await chainOf(url, session);
      expect(verifyChain(chain).valid).toBe(true);
      const completed = chain.filter((e) => e.event_type === 'carp.resolution.completed');
      expect(completed).toHaveLength(6);
      const goals = chain.filter((e) => e.event_type === 'carp.request.received').map((e) => e.payload.goal);
      expect(goals).toEqual(['Open an issue', ...Array.from({ length: 5 }, (_, i) => `during outage ${i}`)]);
    } finally {
      await rt.close();
    }
  });

  it('refuses with 503 and Retry-After when configured fail-closed', async () => {
    const url = await database();
    const rt = await runtimeOn(url, { 'store.onUnavailable': 'fail' });
    try {
      const session = randomIds.uuid();
      expect(await resolveIn(rt, session)).toBe(200);
      await pg.kill();
      // The first call may find out the hard way (its writes go to the outbox, not lost); from then
      // on every new operation is refused up front, even in a session this replica knows.
      await resolveIn(rt, session, 'probe');
      const res = await rt.app.inject({
        method: 'POST',
        url: '/v1/resolve',
        headers: auth(),
        payload: resolveRequest({ session }),
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.json()).toMatchObject({ error: { code: 'SERVICE_UNAVAILABLE' }, retry: { retriable: true } });
      expect((await rt.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      // A new session is refused too.
      expect(await resolveIn(rt, randomIds.uuid(), 'elsewhere')).toBe(503);
      await pg.restart();
      for (let i = 0; i < 100 && (await resolveIn(rt, session, 'after')) !== 200; i++) {
        await new Promise((res) => setTimeout(res, 100));
      }
      const chain = await chainOf(url, session);
      expect(verifyChain(chain).valid).toBe(true);
      const r = chain.filter((e) => e.event_type === 'carp.resolution.completed');
      expect(r.length).toBeGreaterThanOrEqual(2);
    } finally {
      await rt.close();
    }
  });

  it('keeps resolutions executable on another replica (shared store)', async () => {
    const url = await database();
    const [a, b] = [await runtimeOn(url), await runtimeOn(url)];
    try {
      const res = await a.app.inject({
        method: 'POST',
        url: '/v1/resolve',
        headers: auth(),
        payload: resolveRequest({ risk: 'high', hints: ['github.pulls'] }),
      });
      const r = res.json<CARPResolution>();
      const fromB = await b.app.inject({ method: 'GET', url: `/v1/resolutions/${r.resolution_id}`, headers: auth() });
      expect(fromB.json()).toEqual(r);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

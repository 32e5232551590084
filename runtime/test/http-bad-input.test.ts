/**
 * Bad input gets the right status and a clear error naming the field; nothing crashes or
 * corrupts a chain (CRA-SPEC §9).
 */
import { fixedClock, randomIds, verifyChain, type CARPResolution, type TraceEvent } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { auth, executeRequest, KEYS, resolveRequest, testRuntime } from './helpers/runtime.js';

const clock = fixedClock(Date.parse('2026-06-01T10:00:00.000Z'));
let rt: Runtime;

beforeAll(async () => {
  rt = await testRuntime({ 'server.bodyLimitBytes': 16_384 }, { clock });
});
afterAll(async () => rt.close());

const post = (url: string, payload: unknown, headers: Record<string, string> = auth()) =>
  rt.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });

function expectEnvelope(
  res: { statusCode: number; json: () => unknown },
  status: number,
  code: string,
): { error: { message: string; details?: { violations?: { path: string }[] } } } {
  expect(res.statusCode).toBe(status);
  const body = res.json() as {
    carp_version: string;
    error: { code: string; message: string };
    retry: { retriable: boolean };
  };
  expect(body.carp_version).toBe('1.0');
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(typeof body.retry.retriable).toBe('boolean');
  expect(JSON.stringify(body)).not.toMatch(/at .*\.(ts|js):\d+/); // never a stack trace
  return body as never;
}

describe('authentication', () => {
  it('refuses a request without credentials with 401 and WWW-Authenticate', async () => {
    const res = await post('/v1/resolve', resolveRequest({}), {});
    expectEnvelope(res, 401, 'UNAUTHORIZED');
    expect(res.headers['www-authenticate']).toContain('Bearer');
  });

  it('refuses an unknown key, with Bearer and with X-API-Key', async () => {
    expectEnvelope(
      await post('/v1/resolve', resolveRequest({}), { authorization: 'Bearer nope' }),
      401,
      'UNAUTHORIZED',
    );
    expectEnvelope(await post('/v1/resolve', resolveRequest({}), { 'x-api-key': 'nope' }), 401, 'UNAUTHORIZED');
  });

  it('accepts X-API-Key', async () => {
    const res = await post('/v1/resolve', resolveRequest({}), { 'x-api-key': KEYS.agent });
    expect(res.statusCode).toBe(200);
  });

  it('requester.agent_id must be the authenticated agent', async () => {
    const body = expectEnvelope(await post('/v1/resolve', resolveRequest({ agent: 'someone-else' })), 403, 'FORBIDDEN');
    expect(body.error.message).toContain('someone-else');
  });

  it('leaves /healthz and /readyz open', async () => {
    expect((await rt.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const ready = await rt.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', bundle: { ok: true } });
  });
});

describe('malformed requests', () => {
  it('malformed JSON → 400 INVALID_REQUEST', async () => {
    const body = expectEnvelope(await post('/v1/resolve', '{"carp_version": "1.0",'), 400, 'INVALID_REQUEST');
    expect(body.error.message).toContain('JSON');
  });

  it('an empty body → 400', async () => {
    expectEnvelope(
      await rt.app.inject({
        method: 'POST',
        url: '/v1/resolve',
        headers: { ...auth(), 'content-type': 'application/json' },
      }),
      400,
      'INVALID_REQUEST',
    );
  });

  it('a non-JSON content type → 415', async () => {
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: { ...auth(), 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expectEnvelope(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('wrong types are all reported with their JSON Pointers', async () => {
    const payload = { ...resolveRequest({}), task: { goal: 42, risk_tier: 'extreme' }, scope: { max_actions: 'many' } };
    const body = expectEnvelope(await post('/v1/resolve', payload), 400, 'INVALID_REQUEST');
    const paths = body.error.details!.violations!.map((v) => v.path);
    expect(paths).toEqual(expect.arrayContaining(['/task/goal', '/task/risk_tier', '/scope/max_actions']));
  });

  it('echoes the request_id of a well-formed id even when the rest is invalid', async () => {
    const id = randomIds.uuid();
    const res = await post('/v1/resolve', { request_id: id });
    expect(res.json()).toMatchObject({ request_id: id });
  });

  it("records an invalid request in the caller's own session as error.validation", async () => {
    const ok = (await post('/v1/resolve', resolveRequest({}))).json<CARPResolution>();
    const bad = { ...resolveRequest({ session: ok.session_id }), task: { goal: '' } };
    expectEnvelope(await post('/v1/resolve', bad), 400, 'INVALID_REQUEST');
    const events = (await rt.app.inject({ method: 'GET', url: `/v1/traces/${ok.session_id}`, headers: auth() })).json<{
      events: TraceEvent[];
    }>().events;
    expect(events.at(-1)).toMatchObject({
      event_type: 'error.validation',
      severity: 'warn',
      payload: { operation: 'resolve', violations: [{ path: '/task/goal' }] },
    });
    expect(verifyChain(events).valid).toBe(true);
    // Someone else's session is never written to.
    const foreign = { ...resolveRequest({ session: ok.session_id, agent: 'dev-approver' }), task: { goal: '' } };
    expectEnvelope(await post('/v1/resolve', foreign, auth(KEYS.approver)), 400, 'INVALID_REQUEST');
    const after = (await rt.app.inject({ method: 'GET', url: `/v1/traces/${ok.session_id}`, headers: auth() })).json<{
      events: TraceEvent[];
    }>().events;
    expect(after).toHaveLength(events.length);
  });

  it('an oversized body → 413 PAYLOAD_TOO_LARGE', async () => {
    const payload = resolveRequest({ goal: 'x'.repeat(4000) });
    (payload as { requester: { metadata?: Record<string, string> } }).requester.metadata = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`k${i}`, 'y'.repeat(1000)]),
    );
    expectEnvelope(await post('/v1/resolve', payload), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('an unknown atlas in scope → 404 ATLAS_NOT_FOUND', async () => {
    const res = await post('/v1/resolve', resolveRequest({ scope: { atlases: ['no-such-atlas'] } }));
    expectEnvelope(res, 404, 'ATLAS_NOT_FOUND');
  });

  it('an unknown route → 404 in the same envelope', async () => {
    expectEnvelope(await rt.app.inject({ method: 'GET', url: '/v1/nothing', headers: auth() }), 404, 'NOT_FOUND');
  });

  it('a malformed session id in a path → 400 naming it', async () => {
    const body = expectEnvelope(
      await rt.app.inject({ method: 'GET', url: '/v1/traces/not-a-uuid', headers: auth() }),
      400,
      'INVALID_REQUEST',
    );
    expect(JSON.stringify(body.error)).toContain('session_id');
  });
});

describe('expired and foreign resolutions', () => {
  async function resolution(): Promise<CARPResolution> {
    const res = await post('/v1/resolve', resolveRequest({ risk: 'low', hints: ['github.issues'] }));
    return res.json<CARPResolution>();
  }

  it('an expired resolution → 410 RESOLUTION_EXPIRED', async () => {
    const r = await resolution();
    clock.advance(601_000);
    try {
      const res = await post(
        '/v1/execute',
        executeRequest(r, 'api.github.create_issue', { owner: 'o', repo: 'r', title: 't' }),
      );
      expectEnvelope(res, 410, 'RESOLUTION_EXPIRED');
    } finally {
      clock.advance(-601_000);
    }
  });

  it("another agent's resolution → 403 FORBIDDEN, and the owner's chain stays intact", async () => {
    const r = await resolution();
    const body = executeRequest(
      r,
      'api.github.create_issue',
      { owner: 'o', repo: 'r', title: 't' },
      { agent: 'dev-approver' },
    );
    // The approver uses its own session id: it may not even write into the owner's session.
    const own = { ...body, requester: { agent_id: 'dev-approver', session_id: randomIds.uuid() } };
    expectEnvelope(await post('/v1/execute', own, auth(KEYS.approver)), 403, 'FORBIDDEN');
    expectEnvelope(await post('/v1/execute', body, auth(KEYS.approver)), 403, 'FORBIDDEN');
    const chain = (await rt.app.inject({ method: 'GET', url: `/v1/traces/${r.session_id}`, headers: auth() })).json<{
      events: TraceEvent[];
    }>().events;
    expect(verifyChain(chain).valid).toBe(true);
    expect(chain.every((e) => e.session_id === r.session_id)).toBe(true);
  });

  it('survives a burst of garbage and still serves', async () => {
    const garbage = ['', '[]', 'null', '"x"', '{"operation":"resolve"}', '{"requester":[]}', '{'.repeat(500)];
    for (const g of garbage) {
      const res = await post('/v1/resolve', g);
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
    expect((await post('/v1/resolve', resolveRequest({}))).statusCode).toBe(200);
  });
});

/**
 * A CARP request that fails inside CRA (here: the resolution store throws) is answered
 * `500 INTERNAL_ERROR` without detail, and recorded as `error.internal` in its session with the id
 * its log lines carry.
 */
import { randomIds, type TraceEvent } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stores } from '../src/store/ports.js';
import type { Runtime } from '../src/runtime.js';
import { memoryStores } from './helpers/pglite-template.js';
import { auth, resolveRequest, testRuntime } from './helpers/runtime.js';

let failing = false;
let rt: Runtime;

beforeAll(async () => {
  const stores: Stores = await memoryStores();
  const put = stores.resolutions.put.bind(stores.resolutions);
  stores.resolutions.put = async (record) => {
    if (failing) throw new Error('disk on fire: /var/lib/cra/secret-path');
    return put(record);
  };
  rt = await testRuntime({}, { stores });
});
afterAll(async () => {
  await rt?.close();
});

const events = async (sessionId: string): Promise<TraceEvent[]> =>
  (await rt.app.inject({ method: 'GET', url: `/v1/traces/${sessionId}`, headers: auth() })).json<{
    events: TraceEvent[];
  }>().events;

describe('an internal failure', () => {
  it('is answered 500 without detail and recorded in the session', async () => {
    const session = randomIds.uuid();
    expect(
      (
        await rt.app.inject({
          method: 'POST',
          url: '/v1/resolve',
          headers: auth(),
          payload: resolveRequest({ session }),
        })
      ).statusCode,
    ).toBe(200);

    failing = true;
    const logId = randomIds.uuid();
    const body = resolveRequest({ session });
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: { ...auth(), 'x-request-id': logId },
      payload: body,
    });
    failing = false;
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ request_id: body['request_id'], error: { code: 'INTERNAL_ERROR' } });
    expect(res.body).not.toContain('disk on fire');

    const last = (await events(session)).at(-1)!;
    expect(last.event_type).toBe('error.internal');
    expect(last.severity).toBe('error');
    expect(last.payload).toEqual({
      request_id: body['request_id'],
      operation: 'resolve',
      error_code: 'INTERNAL_ERROR',
      log_request_id: logId,
    });
    expect(JSON.stringify(last)).not.toContain('disk on fire');
  });

  it('in the first request of a new session lands after session.started', async () => {
    const session = randomIds.uuid();
    failing = true;
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: auth(),
      payload: resolveRequest({ session }),
    });
    failing = false;
    expect(res.statusCode).toBe(500);
    const types = (await events(session)).map((e) => e.event_type);
    expect(types[0]).toBe('session.started');
    expect(types.at(-1)).toBe('error.internal');
  });
});

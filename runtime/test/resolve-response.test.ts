/**
 * The resolve route sends the resolution as pre-built JSON bytes (json-bytes.ts) instead of through
 * fastify's schema serializer. That is only sound if nothing changes: for every golden request of
 * the reference atlases (all risk tiers, with and without hints), the answer is pure ASCII and
 * parses to exactly what the route's response schema would have let through.
 */
import { readdirSync, readFileSync } from 'node:fs';
import Fastify, { type FastifyRequest } from 'fastify';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolutionResponse, SHARED_SCHEMAS } from '../src/routes/schemas.js';
import type { Runtime } from '../src/runtime.js';
import { auth, repo, resolveRequest, testRuntime } from './helpers/runtime.js';

interface GoldenCase {
  name: string;
  request: { goal: string; risk_tier?: 'low' | 'medium' | 'high' | 'critical'; context_hints?: string[] };
}

const cases = readdirSync(repo('atlases')).flatMap((atlas) => {
  try {
    const file = readFileSync(repo(`atlases/${atlas}/golden/requests.yaml`), 'utf8');
    return (parse(file) as GoldenCase[]).map((c) => ({ ...c, name: `${atlas}: ${c.name}` }));
  } catch {
    return [];
  }
});

let rt: Runtime;
/** A fastify app whose one route answers a given object through the resolve route's response schema. */
let schemaEcho: ReturnType<typeof Fastify>;

beforeAll(async () => {
  rt = await testRuntime();
  schemaEcho = Fastify();
  for (const [name, schema] of Object.entries(SHARED_SCHEMAS)) schemaEcho.addSchema({ ...schema, $id: name });
  schemaEcho.post(
    '/echo',
    { schema: { response: { 200: resolutionResponse } } },
    async (request: FastifyRequest) => request.body,
  );
  await schemaEcho.ready();
});
afterAll(async () => {
  await schemaEcho?.close();
  await rt?.close();
});

describe('the resolve answer', () => {
  it('has golden requests to check', () => {
    expect(cases.length).toBeGreaterThan(10);
  });

  it.each(cases)('$name', async ({ request }) => {
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: auth(),
      payload: resolveRequest({
        goal: request.goal,
        ...(request.risk_tier ? { risk: request.risk_tier } : {}),
        ...(request.context_hints ? { hints: request.context_hints } : {}),
      }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.rawPayload.every((b) => b < 0x80)).toBe(true);
    const sent = res.json<Record<string, unknown>>();
    const filtered = (await schemaEcho.inject({ method: 'POST', url: '/echo', payload: sent })).json();
    expect(sent).toEqual(filtered);
  });
});

/**
 * The CARP surface over HTTP (fastify inject) on the reference atlases: resolve → execute →
 * trace verify, against a local stand-in for the GitHub API that CRA really calls.
 */
import { randomIds, verifyChain, type CARPExecutionResult, type CARPResolution, type TraceEvent } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { startFakeApi, type FakeApi } from './helpers/fake-api.js';
import { auth, executeRequest, KEYS, resolveRequest, testRuntime } from './helpers/runtime.js';
import { secretsDir } from './helpers/secrets.js';

let rt: Runtime;
let github: FakeApi;

beforeAll(async () => {
  github = await startFakeApi((req) => ({
    status: 201,
    body: { number: 42, html_url: `https://github.example/${req.url}` },
  }));
  rt = await testRuntime(
    { secretsDir: await secretsDir({ 'github-token': { token: 'ghp_testtoken0000000000000000000000000000' } }) },
    { env: { GITHUB_API_URL: github.url } },
  );
});
afterAll(async () => {
  await rt.close();
  await github.close();
});

async function resolve(body: Record<string, unknown>, key: string = KEYS.agent): Promise<CARPResolution> {
  const res = await rt.app.inject({ method: 'POST', url: '/v1/resolve', headers: auth(key), payload: body });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<CARPResolution>();
}

async function events(sessionId: string, key: string = KEYS.agent): Promise<TraceEvent[]> {
  const res = await rt.app.inject({ method: 'GET', url: `/v1/traces/${sessionId}`, headers: auth(key) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ events: TraceEvent[] }>().events;
}

describe('resolve', () => {
  it('answers a github-ops request as spec §3 says: high risk → allow_with_constraints, merge needs approval', async () => {
    const r = await resolve(resolveRequest({ risk: 'high', scope: { atlases: ['github-ops'] } }));
    expect(r.decision.type).toBe('allow_with_constraints');
    const types = r.allowed_actions.map((g) => g.action_type).sort();
    expect(types).toEqual([
      'api.github.close_issue',
      'api.github.create_issue',
      'api.github.create_pull_request',
      'api.github.merge_pull_request',
    ]);
    expect(r.allowed_actions.find((g) => g.action_type === 'api.github.merge_pull_request')?.requires_approval).toBe(
      true,
    );
    expect(r.allowed_actions.find((g) => g.action_type === 'api.github.create_issue')?.requires_approval).toBe(false);
    expect(r.denied_actions.map((d) => d.action_type)).toEqual(['api.github.update_branch_protection']);
    expect(r.context_blocks.map((b) => b.pack_ref).sort()).toEqual(['issues-guide', 'pr-guide', 'repo-settings']);
    expect(r.ttl.refresh_hint_seconds).toBe(240);
    for (const block of r.context_blocks) {
      for (const ref of block.evidence_refs) expect(r.evidence.map((e) => e.evidence_id)).toContain(ref);
    }
  });

  it('a known hint with nothing grantable is allow with context and no grants', async () => {
    const r = await resolve(resolveRequest({ risk: 'low', hints: ['github.repos'] }));
    expect(r.decision).toEqual({ type: 'allow' });
    expect(r.allowed_actions).toEqual([]);
    expect(r.context_blocks.map((b) => b.pack_ref)).toEqual(['repo-settings']);
  });

  it('unknown hints only → insufficient_context naming exactly them', async () => {
    const r = await resolve(resolveRequest({ hints: ['github.wikis'] }));
    expect(r.decision).toMatchObject({ type: 'insufficient_context', missing_domains: ['github.wikis'] });
    expect(r.context_blocks).toEqual([]);
  });

  it('a repeated request is a cache hit with a new resolution id and a cache_hit event', async () => {
    const session = randomIds.uuid();
    const body = resolveRequest({ session, risk: 'low', hints: ['github.issues'] });
    const first = await resolve(body);
    const second = await resolve({ ...body, request_id: randomIds.uuid() });
    expect(second.resolution_id).not.toBe(first.resolution_id);
    expect(second.allowed_actions[0]!.action_id).not.toBe(first.allowed_actions[0]!.action_id);
    expect(second.decision).toEqual(first.decision);
    const types = (await events(session)).map((e) => e.event_type);
    expect(types).toContain('carp.resolution.cache_hit');
  });

  it('a different risk tier is not served from the cache (v0.1 bug)', async () => {
    const session = randomIds.uuid();
    const low = await resolve(resolveRequest({ session, risk: 'low', goal: 'merge things' }));
    const critical = await resolve(resolveRequest({ session, risk: 'critical', goal: 'merge things' }));
    expect(critical.allowed_actions.length).toBeGreaterThan(low.allowed_actions.length);
  });

  it('emits every step to TRACE before replying, on one verifiable chain', async () => {
    const session = randomIds.uuid();
    const r = await resolve(resolveRequest({ session, risk: 'medium' }));
    const chain = await events(session);
    expect(chain[0]!.event_type).toBe('session.started');
    expect(chain.map((e) => e.event_type)).toEqual([
      'session.started',
      'carp.request.received',
      'carp.request.validated',
      'carp.resolution.started',
      'carp.atlas.selected',
      'carp.context.selected',
      'carp.context.assembled',
      'carp.policy.evaluation.started',
      ...chain.filter((e) => e.event_type === 'carp.policy.rule.matched').map((e) => e.event_type),
      'carp.policy.evaluation.completed',
      'carp.actions.resolved',
      'carp.evidence.gathered',
      'carp.resolution.completed',
    ]);
    expect(verifyChain(chain).valid).toBe(true);
    expect(r.telemetry_link.events_emitted).toBe(chain.length - 1);
    expect(chain.at(-1)!.payload).toMatchObject({ resolution_id: r.resolution_id, decision_type: r.decision.type });
    expect(new Set(chain.slice(1).map((e) => e.trace_id))).toEqual(new Set([r.telemetry_link.trace_id]));
  });

  it('joins the caller trace from traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: { ...auth(), traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      payload: resolveRequest({}),
    });
    const r = res.json<CARPResolution>();
    expect(r.telemetry_link.trace_id).toBe(traceId);
    const chain = await events(r.session_id);
    expect(chain.at(-1)!.parent_span_id).toBe('00f067aa0ba902b7');
  });
});

describe('execute', () => {
  it('runs a granted action through the real executor and records it', async () => {
    const r = await resolve(resolveRequest({ risk: 'low', hints: ['github.issues'] }));
    const before = github.seen.length;
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/execute',
      headers: auth(),
      payload: executeRequest(r, 'api.github.create_issue', {
        owner: 'octo',
        repo: 'app',
        title: 'Login crash',
        labels: ['bug'],
      }),
    });
    expect(res.statusCode, res.body).toBe(200);
    const result = res.json<CARPExecutionResult>();
    expect(result.status).toBe('success');
    expect(result.result?.output_hash).toMatch(/^[0-9a-f]{64}$/);
    const call = github.seen[before]!;
    expect(call.method).toBe('POST');
    expect(call.url).toBe('/repos/octo/app/issues');
    expect(call.body).toEqual({ title: 'Login crash', labels: ['bug'] });
    expect(call.headers.authorization).toBe('Bearer ghp_testtoken0000000000000000000000000000');
    const chain = await events(r.session_id);
    const types = chain.map((e) => e.event_type);
    expect(types.slice(-5)).toEqual([
      'carp.action.requested',
      'carp.action.validated',
      'carp.action.started',
      'carp.action.side_effect',
      'carp.action.completed',
    ]);
    expect(verifyChain(chain).valid).toBe(true);
    // The token never reaches TRACE.
    expect(JSON.stringify(chain)).not.toContain('ghp_testtoken');
  });

  it('a failing target is an EXECUTION_FAILED result, retriable for 5xx, and an action.failed event', async () => {
    const r = await resolve(resolveRequest({ risk: 'low', hints: ['github.issues'] }));
    github.respond(() => ({ status: 503, body: { message: 'down' } }));
    try {
      const res = await rt.app.inject({
        method: 'POST',
        url: '/v1/execute',
        headers: auth(),
        payload: executeRequest(r, 'api.github.create_issue', { owner: 'o', repo: 'r', title: 't' }),
      });
      const result = res.json<CARPExecutionResult>();
      expect(result.status).toBe('failed');
      expect(result.error).toMatchObject({ code: 'EXECUTION_FAILED', retriable: true });
      expect((await events(r.session_id)).at(-1)!.event_type).toBe('carp.action.failed');
    } finally {
      github.respond((req) => ({ status: 201, body: { number: 42, url: req.url } }));
    }
  });

  it('invalid parameters → 422 CONSTRAINT_VIOLATED with JSON Pointers, nothing executed', async () => {
    const r = await resolve(resolveRequest({ risk: 'low', hints: ['github.issues'] }));
    const before = github.seen.length;
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/execute',
      headers: auth(),
      payload: executeRequest(r, 'api.github.create_issue', { owner: 'o', title: 7 }),
    });
    expect(res.statusCode).toBe(422);
    const body = res.json<{ error: { code: string; details: { violations: { path: string }[] } } }>();
    expect(body.error.code).toBe('CONSTRAINT_VIOLATED');
    const paths = body.error.details.violations.map((v) => v.path);
    expect(paths).toContain('/repo');
    expect(paths).toContain('/title');
    expect(github.seen.length).toBe(before);
    expect((await events(r.session_id)).at(-1)).toMatchObject({ event_type: 'carp.action.denied', severity: 'warn' });
  });

  it('refuses an action id that is not a grant, and a type that does not match the grant', async () => {
    const r = await resolve(resolveRequest({ risk: 'low', hints: ['github.issues'] }));
    const body = executeRequest(r, 'api.github.create_issue', { owner: 'o', repo: 'r', title: 't' });
    const action = body.action as Record<string, unknown>;
    const foreign = await rt.app.inject({
      method: 'POST',
      url: '/v1/execute',
      headers: auth(),
      payload: { ...body, action: { ...action, action_id: randomIds.uuid() } },
    });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe('ACTION_NOT_PERMITTED');
    const retyped = await rt.app.inject({
      method: 'POST',
      url: '/v1/execute',
      headers: auth(),
      payload: { ...body, action: { ...action, action_type: 'api.github.close_issue' } },
    });
    expect(retyped.statusCode).toBe(403);
  });

  it('unknown resolution → 404 RESOLUTION_NOT_FOUND', async () => {
    const r = await resolve(resolveRequest({ risk: 'low', hints: ['github.issues'] }));
    const body = executeRequest(r, 'api.github.create_issue', { owner: 'o', repo: 'r', title: 't' });
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/execute',
      headers: auth(),
      payload: { ...body, action: { ...(body.action as object), resolution_id: randomIds.uuid() } },
    });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('RESOLUTION_NOT_FOUND');
  });

  it('a deny resolution permits nothing (v0.1 executed anyway)', async () => {
    const r = await resolve(resolveRequest({ hints: ['github.nothing'] }));
    expect(r.decision.type).toBe('insufficient_context');
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/execute',
      headers: auth(),
      payload: {
        carp_version: '1.0',
        request_id: randomIds.uuid(),
        timestamp: new Date().toISOString(),
        operation: 'execute',
        requester: { agent_id: 'dev-agent', session_id: r.session_id },
        action: {
          action_id: randomIds.uuid(),
          action_type: 'api.github.create_issue',
          parameters: {},
          resolution_id: r.resolution_id,
        },
      },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('ACTION_NOT_PERMITTED');
  });

  it('a repeated idempotency key returns the first result without executing again', async () => {
    const r = await resolve(resolveRequest({ risk: 'low', hints: ['github.issues'] }));
    const body = executeRequest(
      r,
      'api.github.create_issue',
      { owner: 'o', repo: 'r', title: 'once' },
      { idempotency_key: 'k-1' },
    );
    const before = github.seen.length;
    const first = (
      await rt.app.inject({ method: 'POST', url: '/v1/execute', headers: auth(), payload: body })
    ).json<CARPExecutionResult>();
    const again = (
      await rt.app.inject({
        method: 'POST',
        url: '/v1/execute',
        headers: auth(),
        payload: { ...body, request_id: randomIds.uuid() },
      })
    ).json<CARPExecutionResult>();
    expect(again).toEqual(first);
    expect(github.seen.length).toBe(before + 1);
  });

  it('enforces the atlas rate limit with 429, Retry-After and a rate_limited event', async () => {
    const limited = await testRuntime(
      { secretsDir: await secretsDir({ 'github-token': { token: 't' } }) },
      { env: { GITHUB_API_URL: github.url } },
    );
    try {
      const r = (
        await limited.app.inject({
          method: 'POST',
          url: '/v1/resolve',
          headers: auth(),
          payload: resolveRequest({ risk: 'low', hints: ['github.issues'] }),
        })
      ).json<CARPResolution>();
      const grant = r.allowed_actions.find((g) => g.action_type === 'api.github.create_issue')!;
      expect(grant.rate_limit).toEqual({ requests: 30, window_seconds: 60, scope: 'agent' });
      let last;
      for (let i = 0; i < 31; i++) {
        last = await limited.app.inject({
          method: 'POST',
          url: '/v1/execute',
          headers: auth(),
          payload: executeRequest(r, 'api.github.create_issue', { owner: 'o', repo: 'r', title: `n${i}` }),
        });
      }
      expect(last!.statusCode).toBe(429);
      expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
      expect(last!.json()).toMatchObject({ error: { code: 'RATE_LIMITED' }, retry: { retriable: true } });
      expect(last!.headers['ratelimit-policy']).toBe('30;w=60');
      expect(last!.headers.ratelimit).toMatch(/^limit=30, remaining=0, reset=\d+$/);
      expect(last!.json().error.trace_id).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      await limited.close();
    }
  });
});

describe('approvals', () => {
  it('holds a high-risk action until an approver approves, then runs it; every step in TRACE', async () => {
    const r = await resolve(resolveRequest({ risk: 'high', hints: ['github.pulls'] }));
    const before = github.seen.length;
    const pending = await rt.app.inject({
      method: 'POST',
      url: '/v1/execute',
      headers: auth(),
      payload: executeRequest(r, 'api.github.merge_pull_request', {
        owner: 'o',
        repo: 'r',
        pull_number: 7,
        merge_method: 'squash',
      }),
    });
    expect(pending.statusCode).toBe(202);
    const held = pending.json<CARPExecutionResult>();
    expect(held.status).toBe('pending_approval');
    expect(github.seen.length).toBe(before);

    // The agent cannot approve its own work; an unknown approval is 404.
    const self = await rt.app.inject({
      method: 'POST',
      url: `/v1/approvals/${held.approval_id}/approve`,
      headers: auth(),
    });
    expect(self.statusCode).toBe(403);

    const list = await rt.app.inject({
      method: 'GET',
      url: '/v1/approvals?status=pending',
      headers: auth(KEYS.approver),
    });
    expect(list.json().approvals.map((a: { approval_id: string }) => a.approval_id)).toContain(held.approval_id);

    const approved = await rt.app.inject({
      method: 'POST',
      url: `/v1/approvals/${held.approval_id}/approve`,
      headers: auth(KEYS.approver),
      payload: { reason: 'reviewed' },
    });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({
      status: 'approved',
      decided_by: 'dev-approver',
      result: { status: 'success' },
    });
    expect(github.seen.at(-1)).toMatchObject({ method: 'PUT', url: '/repos/o/r/pulls/7/merge' });

    const again = await rt.app.inject({
      method: 'POST',
      url: `/v1/approvals/${held.approval_id}/approve`,
      headers: auth(KEYS.approver),
    });
    expect(again.statusCode).toBe(409);

    const result = await rt.app.inject({ method: 'GET', url: `/v1/executions/${held.execution_id}`, headers: auth() });
    expect(result.json()).toMatchObject({ execution_id: held.execution_id, status: 'success' });

    const chain = await events(r.session_id);
    const types = chain.map((e) => e.event_type);
    expect(types).toContain('carp.action.approval.pending');
    expect(types).toContain('carp.action.approval.approved');
    expect(types.at(-1)).toBe('carp.action.completed');
    expect(verifyChain(chain).valid).toBe(true);
  });

  it('a denial refuses the execution and the result says so', async () => {
    const r = await resolve(resolveRequest({ risk: 'high', hints: ['github.pulls'] }));
    const held = (
      await rt.app.inject({
        method: 'POST',
        url: '/v1/execute',
        headers: auth(),
        payload: executeRequest(r, 'api.github.merge_pull_request', {
          owner: 'o',
          repo: 'r',
          pull_number: 8,
          merge_method: 'merge',
        }),
      })
    ).json<CARPExecutionResult>();
    const denied = await rt.app.inject({
      method: 'POST',
      url: `/v1/approvals/${held.approval_id}/deny`,
      headers: auth(KEYS.approver),
      payload: { reason: 'not today' },
    });
    expect(denied.json()).toMatchObject({
      status: 'denied',
      reason: 'not today',
      result: { status: 'denied', error: { code: 'ACTION_NOT_PERMITTED' } },
    });
    expect((await events(r.session_id)).at(-1)!.event_type).toBe('carp.action.approval.denied');
  });
});

describe('validate', () => {
  it('reports what execute would do without executing or consuming tokens', async () => {
    const r = await resolve(resolveRequest({ risk: 'high', hints: ['github.pulls'] }));
    const before = github.seen.length;
    const ok = await rt.app.inject({
      method: 'POST',
      url: '/v1/validate',
      headers: auth(),
      payload: executeRequest(
        r,
        'api.github.merge_pull_request',
        { owner: 'o', repo: 'r', pull_number: 1, merge_method: 'rebase' },
        { operation: 'validate' },
      ),
    });
    expect(ok.json()).toMatchObject({ valid: true, decision: 'requires_approval', violations: [] });
    const bad = await rt.app.inject({
      method: 'POST',
      url: '/v1/validate',
      headers: auth(),
      payload: executeRequest(r, 'api.github.merge_pull_request', { owner: 'o', repo: 'r' }, { operation: 'validate' }),
    });
    expect(bad.json()).toMatchObject({ valid: false, decision: 'deny' });
    expect(bad.json().violations.map((v: { path: string }) => v.path)).toContain('/pull_number');
    expect(github.seen.length).toBe(before);
    const last = (await events(r.session_id)).at(-1)!;
    expect(last.event_type).toBe('carp.validation.completed');
  });
});

describe('sessions and traces', () => {
  it('creates, reads and ends a session; an ended session accepts no more requests', async () => {
    const created = await rt.app.inject({
      method: 'POST',
      url: '/v1/sessions',
      headers: auth(),
      payload: { agent_type: 'custom' },
    });
    expect(created.statusCode).toBe(201);
    const session = created.json<{ session_id: string }>().session_id;
    expect(
      (await rt.app.inject({ method: 'GET', url: `/v1/sessions/${session}`, headers: auth() })).json(),
    ).toMatchObject({
      status: 'active',
      agent_id: 'dev-agent',
      event_count: 1,
    });
    const ended = await rt.app.inject({ method: 'DELETE', url: `/v1/sessions/${session}`, headers: auth() });
    expect(ended.json()).toMatchObject({ status: 'ended' });
    const after = await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: auth(),
      payload: resolveRequest({ session }),
    });
    expect(after.statusCode).toBe(409);
    expect(after.json().error.code).toBe('CONFLICT');
    const chain = await events(session);
    expect(chain.map((e) => e.event_type)).toEqual(['session.started', 'session.ended']);
  });

  it('exports JSONL that verifies, and verifies on the server', async () => {
    const r = await resolve(resolveRequest({ risk: 'low' }));
    const jsonl = await rt.app.inject({
      method: 'GET',
      url: `/v1/traces/${r.session_id}?format=jsonl`,
      headers: auth(),
    });
    expect(jsonl.headers['content-type']).toContain('application/x-ndjson');
    const lines = jsonl.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TraceEvent);
    expect(verifyChain(lines).valid).toBe(true);
    const verified = await rt.app.inject({ method: 'GET', url: `/v1/traces/${r.session_id}/verify`, headers: auth() });
    expect(verified.json()).toMatchObject({ valid: true, event_count: lines.length });
  });

  it("an agent cannot read another agent's trace or session; an auditor can", async () => {
    const r = await resolve(resolveRequest({ risk: 'low' }));
    const other = await rt.app.inject({
      method: 'GET',
      url: `/v1/traces/${r.session_id}`,
      headers: auth(KEYS.approver),
    });
    expect(other.statusCode).toBe(403);
    const auditor = await rt.app.inject({
      method: 'GET',
      url: `/v1/traces/${r.session_id}`,
      headers: auth(KEYS.admin),
    });
    expect(auditor.statusCode).toBe(200);
  });

  it('pages through events with from_sequence and limit', async () => {
    const r = await resolve(resolveRequest({ risk: 'low' }));
    const page = await rt.app.inject({
      method: 'GET',
      url: `/v1/traces/${r.session_id}?from_sequence=2&limit=3`,
      headers: auth(),
    });
    const body = page.json<{ events: TraceEvent[]; next_sequence: number }>();
    expect(body.events.map((e) => e.sequence)).toEqual([2, 3, 4]);
    expect(body.next_sequence).toBe(5);
  });
});

describe('batch', () => {
  it('runs requests in order, each with its own outcome', async () => {
    const ok = resolveRequest({ risk: 'low' });
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: auth(),
      payload: { requests: [ok, { ...resolveRequest({}), carp_version: '9' }, { operation: 'dance' }] },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ total: 3, succeeded: 1, failed: 2 });
    expect(body.results[0]).toMatchObject({ index: 0, status: 200 });
    expect(body.results[1]).toMatchObject({ index: 1, status: 400, error: { error: { code: 'INVALID_REQUEST' } } });
    expect(body.results[2].status).toBe(400);
  });
});

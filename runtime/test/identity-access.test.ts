/**
 * Access control across identities (CRA-SPEC §9 roles: agent, approver, admin, auditor), end to
 * end over HTTP with real credentials — every case once with API keys and once with JWTs:
 * agent B can neither use nor read nor decide agent A's work; an approver decides others' work
 * but never its own; an auditor reads everything and decides nothing; an admin ends anyone's
 * session. Refusals of another agent's objects are 403 for sessions and traces and 404 (existence
 * hidden) for resolutions, executions and approvals, as the domain implements them.
 */
import { randomIds, type CARPExecutionResult, type CARPResolution, type Role } from '@cra/core';
import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { startFakeApi, type FakeApi } from './helpers/fake-api.js';
import { identityFiles, type IdentityFiles, type TestIdentity } from './helpers/identities.js';
import { executeRequest, resolveRequest, testRuntime } from './helpers/runtime.js';

const ISSUER = 'https://idp.test/access';
const AUDIENCE = 'cra-runtime';

const PEOPLE: Record<string, Role[]> = {
  'agent-a': ['agent'],
  'agent-b': ['agent'],
  approver: ['agent', 'approver'],
  auditor: ['auditor'],
  admin: ['agent', 'admin'],
};
const apiKeyOf = (agentId: string) => `${agentId}-key-0123456789abcdef`;
const IDENTITIES: TestIdentity[] = Object.entries(PEOPLE).map(([agentId, roles]) => ({
  agentId,
  roles,
  apiKey: apiKeyOf(agentId),
  jwt: { issuer: ISSUER, subject: `sub-${agentId}` },
}));

let rt: Runtime;
let github: FakeApi;
let files: IdentityFiles;
let signer: CryptoKey;

beforeAll(async () => {
  github = await startFakeApi((req) => ({ status: 201, body: { number: 42, url: req.url } }));
  const pair = await generateKeyPair('ES256');
  signer = pair.privateKey;
  files = await identityFiles(IDENTITIES, { 'github-token': { token: 'ghp_testtoken0000000000000000000000000000' } });
  rt = await testRuntime(
    {
      identities: [files.file],
      secretsDir: files.secretsDir,
      'auth.jwt.issuers': [{ issuer: ISSUER, publicKeys: [await exportSPKI(pair.publicKey)], audiences: [AUDIENCE] }],
      'load.maxEventLoopDelayMs': 0, // no load shedding: these tests are about access control
    },
    { env: { GITHUB_API_URL: github.url } },
  );
});

afterAll(async () => {
  await rt.close();
  await github.close();
});

type Kind = 'api-key' | 'jwt';

async function credentials(kind: Kind, agentId: string): Promise<Record<string, string>> {
  if (kind === 'api-key') return { 'x-api-key': apiKeyOf(agentId) };
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(`sub-${agentId}`)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(signer);
  return { authorization: `Bearer ${token}` };
}

describe.each<Kind>(['api-key', 'jwt'])('with %s credentials', (kind) => {
  const as = async (agentId: string, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    rt.app.inject({
      method,
      url,
      headers: await credentials(kind, agentId),
      ...(payload ? { payload } : {}),
    });

  const resolveAs = async (agentId: string): Promise<CARPResolution> => {
    const res = await as(
      agentId,
      'POST',
      '/v1/resolve',
      resolveRequest({ agent: agentId, risk: 'high', hints: ['github.pulls', 'github.issues'] }),
    );
    expect(res.statusCode, res.body).toBe(200);
    return res.json<CARPResolution>();
  };

  const merge = (r: CARPResolution, agentId: string, extra: { session?: string } = {}) => {
    const body = executeRequest(
      r,
      'api.github.merge_pull_request',
      { owner: 'o', repo: 'r', pull_number: 7, merge_method: 'squash' },
      { agent: agentId },
    );
    if (extra.session) (body.requester as { session_id: string }).session_id = extra.session;
    return body;
  };

  /** A pending approval of `agentId`'s merge. */
  const pendingOf = async (agentId: string): Promise<CARPExecutionResult> => {
    const r = await resolveAs(agentId);
    const res = await as(agentId, 'POST', '/v1/execute', merge(r, agentId));
    expect(res.statusCode, res.body).toBe(202);
    return res.json<CARPExecutionResult>();
  };

  let resolutionA: CARPResolution;
  let executionA: CARPExecutionResult;
  let pendingA: CARPExecutionResult;

  beforeAll(async () => {
    resolutionA = await resolveAs('agent-a');
    const done = await as(
      'agent-a',
      'POST',
      '/v1/execute',
      executeRequest(
        resolutionA,
        'api.github.create_issue',
        { owner: 'o', repo: 'r', title: 'A' },
        { agent: 'agent-a' },
      ),
    );
    expect(done.statusCode, done.body).toBe(200);
    executionA = done.json<CARPExecutionResult>();
    pendingA = await pendingOf('agent-a');
  });

  describe('agent B and agent A', () => {
    it("cannot execute A's resolution, in A's session or in its own", async () => {
      const before = github.seen.length;
      const inA = await as('agent-b', 'POST', '/v1/execute', merge(resolutionA, 'agent-b'));
      expect(inA.statusCode, inA.body).toBe(403);
      expect(inA.json().error.message).toContain('belongs to another agent');

      const ownSession = randomIds.uuid();
      const inB = await as('agent-b', 'POST', '/v1/execute', merge(resolutionA, 'agent-b', { session: ownSession }));
      expect(inB.statusCode, inB.body).toBe(403);
      expect(inB.json().error.code).toBe('FORBIDDEN');

      const validate = await as('agent-b', 'POST', '/v1/validate', {
        ...merge(resolutionA, 'agent-b', { session: ownSession }),
        operation: 'validate',
      });
      // validate reports instead of refusing: valid false, the FORBIDDEN violation, decision deny.
      expect(validate.statusCode, validate.body).toBe(200);
      expect(validate.json()).toMatchObject({ valid: false, decision: 'deny', violations: [{ code: 'FORBIDDEN' }] });

      const batch = await as('agent-b', 'POST', '/v1/batch', {
        requests: [merge(resolutionA, 'agent-b', { session: ownSession })],
      });
      expect(batch.json()).toMatchObject({ failed: 1, results: [{ status: 403 }] });
      expect(github.seen.length).toBe(before);
    });

    it('cannot act as A by naming A as the requester', async () => {
      const res = await as('agent-b', 'POST', '/v1/execute', merge(resolutionA, 'agent-a'));
      expect(res.statusCode).toBe(403);
      expect(res.json().error.message).toContain('"agent-a" is not the authenticated agent');
      const resolve = await as('agent-b', 'POST', '/v1/resolve', resolveRequest({ agent: 'agent-a' }));
      expect(resolve.statusCode).toBe(403);
    });

    it("cannot read A's session, trace, resolution, execution or approval", async () => {
      const session = resolutionA.session_id;
      expect((await as('agent-b', 'GET', `/v1/sessions/${session}`)).statusCode).toBe(403);
      expect((await as('agent-b', 'GET', `/v1/traces/${session}`)).statusCode).toBe(403);
      expect((await as('agent-b', 'GET', `/v1/traces/${session}?format=jsonl`)).statusCode).toBe(403);
      expect((await as('agent-b', 'GET', `/v1/traces/${session}/verify`)).statusCode).toBe(403);
      expect((await as('agent-b', 'POST', `/v1/traces/${session}/verify`)).statusCode).toBe(403);
      expect((await as('agent-b', 'GET', `/v1/resolutions/${resolutionA.resolution_id}`)).statusCode).toBe(404);
      expect((await as('agent-b', 'GET', `/v1/executions/${executionA.execution_id}`)).statusCode).toBe(404);
      expect((await as('agent-b', 'GET', `/v1/approvals/${pendingA.approval_id}`)).statusCode).toBe(404);

      const sessions = (await as('agent-b', 'GET', '/v1/sessions?limit=500')).json<{
        sessions: { agent_id: string }[];
      }>().sessions;
      expect(sessions.every((s) => s.agent_id === 'agent-b')).toBe(true);
      const approvals = (await as('agent-b', 'GET', '/v1/approvals')).json<{
        approvals: { agent_id: string }[];
      }>().approvals;
      expect(approvals.every((a) => a.agent_id === 'agent-b')).toBe(true);
    });

    it("cannot approve, deny or end A's work", async () => {
      for (const verb of ['approve', 'deny']) {
        const res = await as('agent-b', 'POST', `/v1/approvals/${pendingA.approval_id}/${verb}`, {});
        expect(res.statusCode, verb).toBe(404);
      }
      expect((await as('agent-b', 'DELETE', `/v1/sessions/${resolutionA.session_id}`)).statusCode).toBe(403);
      // A cannot approve its own work either.
      expect((await as('agent-a', 'POST', `/v1/approvals/${pendingA.approval_id}/approve`, {})).statusCode).toBe(403);
      const still = await as('agent-a', 'GET', `/v1/approvals/${pendingA.approval_id}`);
      expect(still.json()).toMatchObject({ status: 'pending' });
    });
  });

  describe('approver', () => {
    it("lists, reads and approves another agent's execution, which then runs as that agent", async () => {
      const pending = await pendingOf('agent-a');
      const list = (await as('approver', 'GET', '/v1/approvals?status=pending')).json<{
        approvals: { approval_id: string }[];
      }>().approvals;
      expect(list.map((a) => a.approval_id)).toContain(pending.approval_id);
      expect((await as('approver', 'GET', `/v1/approvals/${pending.approval_id}`)).statusCode).toBe(200);
      const approved = await as('approver', 'POST', `/v1/approvals/${pending.approval_id}/approve`, {});
      expect(approved.statusCode, approved.body).toBe(200);
      expect(approved.json()).toMatchObject({
        status: 'approved',
        decided_by: 'approver',
        result: { status: 'success' },
      });
      const result = await as('agent-a', 'GET', `/v1/executions/${pending.execution_id}`);
      expect(result.json()).toMatchObject({ status: 'success' });
    });

    it('cannot approve or deny its own execution', async () => {
      const own = await pendingOf('approver');
      for (const verb of ['approve', 'deny']) {
        const res = await as('approver', 'POST', `/v1/approvals/${own.approval_id}/${verb}`, {});
        expect(res.statusCode, verb).toBe(403);
        expect(res.json().error.code).toBe('FORBIDDEN');
      }
    });

    it("does not read other agents' traces or sessions (approvals carry what it decides on)", async () => {
      expect((await as('approver', 'GET', `/v1/traces/${resolutionA.session_id}`)).statusCode).toBe(403);
      expect((await as('approver', 'GET', `/v1/sessions/${resolutionA.session_id}`)).statusCode).toBe(403);
      expect((await as('approver', 'DELETE', `/v1/sessions/${resolutionA.session_id}`)).statusCode).toBe(403);
    });
  });

  describe('auditor', () => {
    it("reads every agent's trace, session, resolution, execution and approval", async () => {
      const session = resolutionA.session_id;
      const trace = await as('auditor', 'GET', `/v1/traces/${session}`);
      expect(trace.statusCode).toBe(200);
      expect(trace.json().events.length).toBeGreaterThan(0);
      expect((await as('auditor', 'GET', `/v1/traces/${session}/verify`)).json()).toMatchObject({ valid: true });
      expect((await as('auditor', 'GET', `/v1/sessions/${session}`)).json()).toMatchObject({ agent_id: 'agent-a' });
      expect((await as('auditor', 'GET', `/v1/resolutions/${resolutionA.resolution_id}`)).statusCode).toBe(200);
      expect((await as('auditor', 'GET', `/v1/executions/${executionA.execution_id}`)).statusCode).toBe(200);
      expect((await as('auditor', 'GET', `/v1/approvals/${pendingA.approval_id}`)).statusCode).toBe(200);
      const sessions = (await as('auditor', 'GET', '/v1/sessions?limit=500')).json<{
        sessions: { agent_id: string }[];
      }>().sessions;
      expect(new Set(sessions.map((s) => s.agent_id))).toContain('agent-a');
    });

    it('cannot approve, deny or end sessions', async () => {
      for (const verb of ['approve', 'deny']) {
        const res = await as('auditor', 'POST', `/v1/approvals/${pendingA.approval_id}/${verb}`, {});
        expect(res.statusCode, verb).toBe(403);
      }
      expect((await as('auditor', 'DELETE', `/v1/sessions/${resolutionA.session_id}`)).statusCode).toBe(403);
      expect((await as('auditor', 'GET', `/v1/approvals/${pendingA.approval_id}`)).json()).toMatchObject({
        status: 'pending',
      });
    });
  });

  describe('admin', () => {
    it("ends another agent's session", async () => {
      const created = await as('agent-a', 'POST', '/v1/sessions', {});
      expect(created.statusCode).toBe(201);
      const session = created.json<{ session_id: string }>().session_id;
      const ended = await as('admin', 'DELETE', `/v1/sessions/${session}`);
      expect(ended.statusCode, ended.body).toBe(200);
      expect(ended.json()).toMatchObject({ status: 'ended', agent_id: 'agent-a' });
      const after = await as('agent-a', 'POST', '/v1/resolve', resolveRequest({ agent: 'agent-a', session }));
      expect(after.statusCode).toBe(409);
    });

    it("decides another agent's approval but not its own", async () => {
      const denied = await as('admin', 'POST', `/v1/approvals/${pendingA.approval_id}/deny`, { reason: 'no' });
      expect(denied.statusCode, denied.body).toBe(200);
      expect(denied.json()).toMatchObject({ status: 'denied', decided_by: 'admin' });
      const own = await pendingOf('admin');
      expect((await as('admin', 'POST', `/v1/approvals/${own.approval_id}/approve`, {})).statusCode).toBe(403);
    });
  });
});

describe('roles the domain enforces', () => {
  it('an identity without the agent role (auditor-only) can neither resolve nor execute', async () => {
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: { 'x-api-key': apiKeyOf('auditor') },
      payload: resolveRequest({ agent: 'auditor' }),
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.message).toContain('agent role');
  });

  it('approving the pending work of an identity removed by a reload is refused cleanly, and can be denied', async () => {
    const own = await identityFiles(IDENTITIES, { 'github-token': { token: 't' } });
    const local = await testRuntime(
      { identities: [own.file], secretsDir: own.secretsDir },
      { env: { GITHUB_API_URL: github.url } },
    );
    try {
      const asKey = (agentId: string) => ({ 'x-api-key': apiKeyOf(agentId) });
      const r = (
        await local.app.inject({
          method: 'POST',
          url: '/v1/resolve',
          headers: asKey('agent-a'),
          payload: resolveRequest({ agent: 'agent-a', risk: 'high', hints: ['github.pulls'] }),
        })
      ).json<CARPResolution>();
      const held = (
        await local.app.inject({
          method: 'POST',
          url: '/v1/execute',
          headers: asKey('agent-a'),
          payload: executeRequest(
            r,
            'api.github.merge_pull_request',
            { owner: 'o', repo: 'r', pull_number: 3, merge_method: 'squash' },
            { agent: 'agent-a' },
          ),
        })
      ).json<CARPExecutionResult>();
      await own.write(IDENTITIES.filter((i) => i.agentId !== 'agent-a'));
      await local.reload();
      const approve = await local.app.inject({
        method: 'POST',
        url: `/v1/approvals/${held.approval_id}/approve`,
        headers: asKey('approver'),
      });
      expect(approve.statusCode, approve.body).toBe(409);
      const still = await local.app.inject({
        method: 'GET',
        url: `/v1/approvals/${held.approval_id}`,
        headers: asKey('approver'),
      });
      expect(still.json()).toMatchObject({ status: 'pending' });
      const deny = await local.app.inject({
        method: 'POST',
        url: `/v1/approvals/${held.approval_id}/deny`,
        headers: asKey('approver'),
        payload: { reason: 'agent removed' },
      });
      expect(deny.json()).toMatchObject({ status: 'denied', result: { status: 'denied' } });
    } finally {
      await local.close();
    }
  });
});

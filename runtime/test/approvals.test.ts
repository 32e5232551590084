/**
 * Approvals beyond the happy path (CRA-SPEC §5): a timeout denies; an approval of an action the
 * bundle no longer permits records the decision and the refusal; every step is in TRACE.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock, verifyChain, type CARPExecutionResult, type CARPResolution, type TraceEvent } from '@cra/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { auth, executeRequest, KEYS, repo, resolveRequest, testRuntime } from './helpers/runtime.js';

const temps: string[] = [];
afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

async function pendingMerge(rt: Runtime): Promise<{ r: CARPResolution; held: CARPExecutionResult }> {
  const r = (
    await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: auth(),
      payload: resolveRequest({ risk: 'high', hints: ['github.pulls'] }),
    })
  ).json<CARPResolution>();
  const res = await rt.app.inject({
    method: 'POST',
    url: '/v1/execute',
    headers: auth(),
    payload: executeRequest(r, 'api.github.merge_pull_request', {
      owner: 'o',
      repo: 'r',
      pull_number: 9,
      merge_method: 'squash',
    }),
  });
  expect(res.statusCode, res.body).toBe(202);
  return { r, held: res.json<CARPExecutionResult>() };
}

const chain = async (rt: Runtime, session: string): Promise<TraceEvent[]> =>
  (await rt.app.inject({ method: 'GET', url: `/v1/traces/${session}`, headers: auth() })).json<{
    events: TraceEvent[];
  }>().events;

describe('approvals', () => {
  it('time out: the execution is denied with TIMEOUT and the timeout is in TRACE', async () => {
    const clock = fixedClock(Date.parse('2026-03-01T12:00:00Z'));
    const rt = await testRuntime({}, { clock });
    try {
      const { r, held } = await pendingMerge(rt);
      clock.advance(3601_000); // github-ops approvals time out after 3600 s
      const listed = await rt.app.inject({
        method: 'GET',
        url: `/v1/approvals/${held.approval_id}`,
        headers: auth(KEYS.approver),
      });
      expect(listed.json()).toMatchObject({
        status: 'timeout',
        result: { status: 'denied', error: { code: 'TIMEOUT' } },
      });
      const late = await rt.app.inject({
        method: 'POST',
        url: `/v1/approvals/${held.approval_id}/approve`,
        headers: auth(KEYS.approver),
      });
      expect(late.statusCode).toBe(409);
      const events = await chain(rt, r.session_id);
      expect(events.at(-1)!.event_type).toBe('carp.action.approval.timeout');
      expect(verifyChain(events).valid).toBe(true);
      const exec = await rt.app.inject({ method: 'GET', url: `/v1/executions/${held.execution_id}`, headers: auth() });
      expect(exec.json()).toMatchObject({ status: 'denied', approval_id: held.approval_id });
    } finally {
      await rt.close();
    }
  });

  it('approved after the bundle stopped permitting the action: the refusal is recorded, nothing runs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cra-approval-'));
    temps.push(dir);
    await cp(repo('atlases/github-ops'), join(dir, 'github-ops'), { recursive: true });
    const rt = await testRuntime({ atlases: [dir] });
    try {
      const { r, held } = await pendingMerge(rt);
      const manifest = join(dir, 'github-ops', 'atlas.yaml');
      const text = await readFile(manifest, 'utf8');
      await writeFile(
        manifest,
        text.replace(
          /^policies:\n/m,
          'policies:\n  - id: freeze-merges\n    when: {actionType: "api.github.merge_*"}\n    effect: deny\n    message: Merges are frozen.\n',
        ),
      );
      expect((await rt.reload()).changed).toBe(true);
      const approved = await rt.app.inject({
        method: 'POST',
        url: `/v1/approvals/${held.approval_id}/approve`,
        headers: auth(KEYS.approver),
      });
      expect(approved.statusCode, approved.body).toBe(200);
      expect(approved.json()).toMatchObject({
        status: 'approved',
        result: { status: 'denied', error: { code: 'ACTION_NOT_PERMITTED', message: 'Merges are frozen.' } },
      });
      const types = (await chain(rt, r.session_id)).map((e) => e.event_type);
      expect(types.slice(-2)).toEqual(['carp.action.approval.approved', 'carp.action.denied']);
    } finally {
      await rt.close();
    }
  });
});

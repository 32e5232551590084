/**
 * `cra resolve|execute|validate` and `cra approvals` against a real runtime on loopback, whose
 * github-ops executor calls a local stand-in for the GitHub API.
 */
import type { CARPExecutionResult, CARPResolution, CARPValidationResult } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KEYS } from '../helpers/runtime.js';
import { asAgent, assertBuilt, cra, json, startRuntime, type ListeningRuntime, removeTempDirs } from './helpers.js';

// Every test spawns the CLI (a Node process); a loaded machine makes that slow, never wrong.
vi.setConfig({ testTimeout: 90_000 });

let server: ListeningRuntime;
let agent: Record<string, string>;
let approver: Record<string, string>;

beforeAll(async () => {
  assertBuilt();
  server = await startRuntime();
  agent = asAgent(server.url, KEYS.agent, 'dev-agent');
  approver = asAgent(server.url, KEYS.approver);
});
afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

async function resolveJson(goal: string, ...args: string[]): Promise<CARPResolution> {
  const r = await cra(['resolve', goal, ...args, '-o', 'json'], { env: agent });
  expect(r.code, r.stderr).toBe(0);
  return json<CARPResolution>(r);
}

describe('cra resolve', () => {
  it('prints decision, blocks, grants, denials, expiry, session and trace as a table', async () => {
    const r = await cra(
      ['resolve', 'Open an issue about the login crash', '--risk', 'high', '--atlas', 'github-ops', '-o', 'table'],
      {
        env: agent,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Decision\s+allow_with_constraints/);
    expect(r.stdout).toMatch(/Session\s+[0-9a-f-]{36}/);
    expect(r.stdout).toMatch(/Trace\s+[0-9a-f]{32}/);
    expect(r.stdout).toMatch(/Expires\s+\S+Z \(refresh in 240 s\)/);
    expect(r.stdout).toMatch(
      /Context blocks \(3\)[\s\S]*issues-guide\s+default\/github-ops@1\.0\.0\s+github\.issues\s+\d+/,
    );
    expect(r.stdout).toMatch(/Grants \(4\)[\s\S]*api\.github\.merge_pull_request\s+high\s+required/);
    expect(r.stdout).toMatch(/Denials \(1\)[\s\S]*api\.github\.update_branch_protection\s+risk tier critical/);
  });

  it('--output json is the CARPResolution, sent as a full CARPRequest', async () => {
    const resolution = await resolveJson(
      'Open an issue about the login crash',
      '--risk',
      'low',
      '--hints',
      'github.issues',
    );
    expect(resolution.decision).toEqual({ type: 'allow' });
    expect(resolution.allowed_actions.map((g) => g.action_type).sort()).toEqual([
      'api.github.close_issue',
      'api.github.create_issue',
    ]);
    expect(resolution.session_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });

  it('--output yaml works too, and scope options reach the runtime', async () => {
    const r = await cra(
      [
        'resolve',
        'Look into the failing pods',
        '--risk',
        'medium',
        '--atlas',
        'cluster-ops',
        '--actions',
        'api.k8s.get_pod_logs',
        '--max-tokens',
        '600',
        '-o',
        'yaml',
      ],
      { env: agent },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^carp_version: "1.0"/m);
    expect(r.stdout).toContain('action_type: api.k8s.get_pod_logs');
    expect(r.stdout).not.toContain('action_type: api.k8s.scale_deployment');
  });

  it('reuses --session', async () => {
    const first = await resolveJson('Open an issue', '--risk', 'low');
    const second = await resolveJson('Close an issue', '--risk', 'low', '--session', first.session_id);
    expect(second.session_id).toBe(first.session_id);
  });

  it('maps a CARPError to CODE: message with each violation and its JSON Pointer (exit 1)', async () => {
    const r = await cra(['resolve', 'x', '--session', 'not-a-uuid'], { env: agent });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: INVALID_REQUEST: /m);
    expect(r.stderr).toMatch(/^ {2}\/requester\/session_id: /m);
  });

  it('says how to authenticate on 401', async () => {
    const r = await cra(['resolve', 'x'], { env: { CRA_URL: server.url, CRA_AGENT_ID: 'dev-agent' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: UNAUTHORIZED:');
    expect(r.stderr).toContain('--api-key or the CRA_API_KEY environment variable');
  });

  it('refuses to act as another agent (FORBIDDEN)', async () => {
    const r = await cra(['resolve', 'x', '--agent', 'dev-admin'], { env: agent });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: FORBIDDEN: requester.agent_id "dev-admin" is not the authenticated agent/);
  });
});

describe('cra execute', () => {
  it('executes a low-risk github action: the fake GitHub API receives the call', async () => {
    const resolution = await resolveJson(
      'Open an issue about the login crash',
      '--risk',
      'low',
      '--hints',
      'github.issues',
    );
    const params = JSON.stringify({ owner: 'acme', repo: 'app', title: 'Bug: login crash' });
    const before = server.github.seen.length;
    const r = await cra(
      ['execute', resolution.resolution_id, 'api.github.create_issue', '--params', params, '-o', 'json'],
      {
        env: agent,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    const result = json<CARPExecutionResult>(r);
    expect(result.status).toBe('success');
    expect(result.result?.output).toEqual({
      number: 42,
      url: 'https://github.example/acme/app/issues/42',
      state: 'open',
    });
    const call = server.github.seen.slice(before);
    expect(call).toEqual([
      {
        method: 'POST',
        url: '/repos/acme/app/issues',
        authorization: 'Bearer ghp_testtoken0000000000000000000000000000',
        body: { title: 'Bug: login crash' },
      },
    ]);
  });

  it('takes the atlas action id, parameters from stdin, and prints a table', async () => {
    const resolution = await resolveJson('Close the duplicate issue', '--risk', 'low', '--hints', 'github.issues');
    const r = await cra(['execute', resolution.resolution_id, 'close-issue', '--params-file', '-', '-o', 'table'], {
      env: agent,
      input: JSON.stringify({ owner: 'acme', repo: 'app', issue_number: 7, state: 'closed' }),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Status\s+success/);
    expect(r.stdout).toMatch(/Output\n\s+\{/);
  });

  it('a refused execution exits 1 with the violations', async () => {
    const resolution = await resolveJson('Open an issue', '--risk', 'low', '--hints', 'github.issues');
    const r = await cra(
      ['execute', resolution.resolution_id, 'api.github.create_issue', '--params', '{"owner":"acme"}'],
      {
        env: agent,
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: CONSTRAINT_VIOLATED: /);
    expect(r.stderr).toMatch(/^ {2}\/repo: /m);
  });

  it('an action the resolution did not grant is named with what was granted', async () => {
    const resolution = await resolveJson('Open an issue', '--risk', 'low', '--hints', 'github.issues');
    const r = await cra(['execute', resolution.resolution_id, 'api.github.merge_pull_request'], { env: agent });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('grants no action api.github.merge_pull_request');
    expect(r.stderr).toContain('granted: api.github.create_issue, api.github.close_issue');
  });
});

describe('approval flow through the CLI', () => {
  it('execute → pending_approval → approvals list → approve with the approver key → result', async () => {
    const resolution = await resolveJson('Merge the login fix', '--risk', 'high', '--hints', 'github.pulls');
    const params = JSON.stringify({ owner: 'acme', repo: 'app', pull_number: 57, merge_method: 'squash' });
    const pending = await cra(
      ['execute', resolution.resolution_id, 'api.github.merge_pull_request', '--params', params, '-o', 'json'],
      {
        env: agent,
      },
    );
    expect(pending.code, pending.stderr).toBe(0);
    const held = json<CARPExecutionResult>(pending);
    expect(held.status).toBe('pending_approval');
    expect(held.approval_id).toBeDefined();

    const list = await cra(['approvals', 'list', '--status', 'pending', '-o', 'json'], { env: approver });
    expect(list.code, list.stderr).toBe(0);
    expect(json<{ approval_id: string }[]>(list).map((a) => a.approval_id)).toContain(held.approval_id);
    const table = await cra(['approvals', 'list', '--status', 'pending', '-o', 'table'], { env: approver });
    expect(table.stdout).toMatch(
      new RegExp(`${held.approval_id}\\s+pending\\s+dev-agent\\s+api\\.github\\.merge_pull_request`),
    );

    const self = await cra(['approvals', 'approve', held.approval_id!], { env: agent });
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/error: FORBIDDEN: /);

    const approved = await cra(['approvals', 'approve', held.approval_id!, '--reason', 'reviewed', '-o', 'json'], {
      env: approver,
    });
    expect(approved.code, approved.stderr).toBe(0);
    const approval = json<{ status: string; decided_by: string; result: CARPExecutionResult }>(approved);
    expect(approval).toMatchObject({ status: 'approved', decided_by: 'dev-approver' });
    expect(approval.result).toMatchObject({ status: 'success', execution_id: held.execution_id });
    expect(approval.result.result?.output).toEqual({
      merged: true,
      sha: 'abc123',
      message: 'Pull Request successfully merged',
    });
    expect(server.github.seen.at(-1)).toMatchObject({ method: 'PUT', url: '/repos/acme/app/pulls/57/merge' });

    const again = await cra(['approvals', 'deny', held.approval_id!], { env: approver });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/error: CONFLICT: /);
  });

  it('deny refuses the held execution', async () => {
    const resolution = await resolveJson('Merge another fix', '--risk', 'high', '--hints', 'github.pulls');
    const params = JSON.stringify({ owner: 'acme', repo: 'app', pull_number: 58, merge_method: 'merge' });
    const held = json<CARPExecutionResult>(
      await cra(['execute', resolution.resolution_id, 'merge-pr', '--params', params, '-o', 'json'], { env: agent }),
    );
    const denied = await cra(['approvals', 'deny', held.approval_id!, '--reason', 'not now', '-o', 'table'], {
      env: approver,
    });
    expect(denied.code, denied.stderr).toBe(0);
    expect(denied.stdout).toMatch(/Status\s+denied/);
    expect(denied.stdout).toMatch(/Reason\s+not now/);
  });
});

describe('cra validate', () => {
  it('valid parameters: exit 0 and the decision execute would take', async () => {
    const resolution = await resolveJson('Merge the fix', '--risk', 'high', '--hints', 'github.pulls');
    const params = JSON.stringify({ owner: 'acme', repo: 'app', pull_number: 9, merge_method: 'squash' });
    const r = await cra(['validate', resolution.resolution_id, 'merge-pr', '--params', params, '-o', 'json'], {
      env: agent,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(json<CARPValidationResult>(r)).toMatchObject({ valid: true, decision: 'requires_approval', violations: [] });
  });

  it('invalid parameters: exit 1 with every violation and its JSON Pointer', async () => {
    const resolution = await resolveJson('Open an issue', '--risk', 'low', '--hints', 'github.issues');
    const r = await cra(
      ['validate', resolution.resolution_id, 'create-issue', '--params', '{"owner":"acme"}', '-o', 'table'],
      {
        env: agent,
      },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Valid\s+✗ no/);
    expect(r.stdout).toMatch(/CONSTRAINT_VIOLATED\s+\/repo\s+/);
    expect(r.stdout).toMatch(/CONSTRAINT_VIOLATED\s+\/title\s+/);
  });
});

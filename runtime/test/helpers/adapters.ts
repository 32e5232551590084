/**
 * The setting of the platform adapter tests: a runtime on the reference atlases whose executor
 * really calls a fake GitHub API, a local LLM wire server, and the HTTP calls of an agent loop
 * (resolve, adapt, hand the model's tool calls back to CRA).
 */
import type { CARPResolution, RiskTier, ToolOutcome, TraceEvent } from '@cra/core';
import { expect } from 'vitest';
import type { Runtime } from '../../src/runtime.js';
import { startFakeApi, type FakeApi } from './fake-api.js';
import { startLlmWire, type LlmWire } from './llm-wire.js';
import { auth, KEYS, resolveRequest, testRuntime } from './runtime.js';
import { secretsDir } from './secrets.js';

export interface AdapterEnv {
  rt: Runtime;
  github: FakeApi;
  wire: LlmWire;
  close(): Promise<void>;
}

export async function adapterEnv(): Promise<AdapterEnv> {
  const github = await startFakeApi((req) => ({
    status: req.method === 'POST' ? 201 : 200,
    body: { number: 42, html_url: `https://github.example${req.url}/42`, state: 'open' },
  }));
  const wire = await startLlmWire();
  const rt = await testRuntime(
    { secretsDir: await secretsDir({ 'github-token': { token: 'ghp_testtoken0000000000000000000000000000' } }) },
    { env: { GITHUB_API_URL: github.url } },
  );
  return {
    rt,
    github,
    wire,
    close: async () => {
      await rt.close();
      await github.close();
      await wire.close();
    },
  };
}

/** github-ops at high risk: create/close issue and PR granted, merge needs approval, branch protection denied. */
export async function resolveGithub(rt: Runtime, risk: RiskTier = 'high'): Promise<CARPResolution> {
  const res = await rt.app.inject({
    method: 'POST',
    url: '/v1/resolve',
    headers: auth(),
    payload: resolveRequest({ risk, scope: { atlases: ['github-ops'] } }),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<CARPResolution>();
}

export interface Adapted {
  platform: string;
  resolution_id: string;
  format?: string;
  instructions?: string;
  system?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- platform tool shapes are asserted in the tests
  tools: any[];
  tool_choice?: unknown;
  tool_names: Record<string, { action_id: string; action_type: string; requires_approval: boolean }>;
}

export async function adapt(rt: Runtime, platform: string, body: Record<string, unknown>, key: string = KEYS.agent) {
  return rt.app.inject({ method: 'POST', url: `/v1/adapt/${platform}`, headers: auth(key), payload: body });
}

export async function adapted(rt: Runtime, platform: string, body: Record<string, unknown>): Promise<Adapted> {
  const res = await adapt(rt, platform, body);
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Adapted>();
}

export interface CallsReply {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- platform result shapes are asserted in the tests
  results: any[];
  outcomes: ToolOutcome[];
}

export async function runCalls(
  rt: Runtime,
  platform: string,
  resolutionId: string,
  calls: unknown[],
  format?: 'chat' | 'responses',
): Promise<CallsReply> {
  const res = await rt.app.inject({
    method: 'POST',
    url: `/v1/adapt/${platform}/calls`,
    headers: auth(),
    payload: { resolution_id: resolutionId, ...(format ? { format } : {}), calls },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<CallsReply>();
}

export async function events(rt: Runtime, sessionId: string): Promise<TraceEvent[]> {
  const res = await rt.app.inject({ method: 'GET', url: `/v1/traces/${sessionId}`, headers: auth() });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ events: TraceEvent[] }>().events;
}

export const ISSUE = { owner: 'acme', repo: 'mobile-app', title: 'Bug: login button does nothing on Android 14' };
export const MERGE = { owner: 'acme', repo: 'mobile-app', pull_number: 57, merge_method: 'squash' };

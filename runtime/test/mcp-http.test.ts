/**
 * MCP over Streamable HTTP at /mcp with the SDK's real `Client` against a listening runtime on
 * the reference atlases: initialize, CRA's tools, a resolve that turns grants into tools (with
 * annotations) and context blocks into resources, granted tool calls that really reach the
 * GitHub stand-in, refusals as tool errors, prompts, authentication, TRACE of every call, and
 * stateless sessions answered by a second replica sharing the stores. Then the stateful mode:
 * `list_changed` on the GET stream for a resolve made over the HTTP API, DELETE ends the session.
 */
import { verifyChain, type CARPResolution, type TraceEvent } from '@cra/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  ResourceListChangedNotificationSchema,
  ToolListChangedNotificationSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMcpAgent } from '../../examples/mcp/client.js';
import type { Runtime } from '../src/runtime.js';
import type { Stores } from '../src/store/ports.js';
import { startFakeApi, type FakeApi } from './helpers/fake-api.js';
import { memoryStores } from './helpers/pglite-template.js';
import { auth, KEYS, resolveRequest, testRuntime } from './helpers/runtime.js';
import { secretsDir } from './helpers/secrets.js';

const TOKEN = 'ghp_testtoken0000000000000000000000000000';

let github: FakeApi;
let secrets: string;
let stores: Stores;
let rt: Runtime;
let replica: Runtime;
let mcpUrl: URL;
let replicaUrl: URL;
const open: Client[] = [];

async function runtimeOn(shared: Stores, overrides: Record<string, unknown> = {}): Promise<{ rt: Runtime; url: URL }> {
  const runtime = await testRuntime(
    { secretsDir: secrets, ...overrides },
    // The second replica must not close the stores the first one still uses.
    { env: { GITHUB_API_URL: github.url }, stores: { ...shared, close: async () => undefined } },
  );
  const address = await runtime.app.listen({ port: 0, host: '127.0.0.1' });
  return { rt: runtime, url: new URL(`${address}/mcp`) };
}

beforeAll(async () => {
  github = await startFakeApi((req) => ({
    status: 201,
    body: { number: 42, html_url: `https://github.example${req.url}`, state: 'open' },
  }));
  secrets = await secretsDir({ 'github-token': { token: TOKEN } });
  stores = await memoryStores();
  ({ rt, url: mcpUrl } = await runtimeOn(stores));
  ({ rt: replica, url: replicaUrl } = await runtimeOn(stores));
});

afterAll(async () => {
  await Promise.all(open.map((c) => c.close().catch(() => undefined)));
  await replica?.close();
  await rt?.close();
  await stores?.close();
  await github?.close();
});

interface Connected {
  client: Client;
  transport: StreamableHTTPClientTransport;
  notifications: string[];
}

async function connect(options: { key?: string; url?: URL; sessionId?: string } = {}): Promise<Connected> {
  const client = new Client({ name: 'mcp-http-test', version: '1.0.0' });
  const notifications: string[] = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => {
    notifications.push(n.method);
  });
  client.setNotificationHandler(ResourceListChangedNotificationSchema, (n) => {
    notifications.push(n.method);
  });
  const transport = new StreamableHTTPClientTransport(options.url ?? mcpUrl, {
    requestInit: { headers: { authorization: `Bearer ${options.key ?? KEYS.agent}` } },
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
  });
  await client.connect(transport);
  open.push(client);
  return { client, transport, notifications };
}

type Structured<T = Record<string, unknown>> = CallToolResult & { structuredContent: T };

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<Structured> {
  return (await client.callTool({ name, arguments: args })) as Structured;
}

async function resolveTool(client: Client, args: Record<string, unknown>) {
  const result = await call(client, 'cra_resolve', args);
  expect(result.isError, JSON.stringify(result.structuredContent)).toBeFalsy();
  return result.structuredContent as { summary: Record<string, unknown>; resolution: CARPResolution };
}

async function events(sessionId: string): Promise<TraceEvent[]> {
  const res = await rt.app.inject({ method: 'GET', url: `/v1/traces/${sessionId}`, headers: auth() });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ events: TraceEvent[] }>().events;
}

const CRA_TOOLS = ['cra_execute', 'cra_resolve', 'cra_validate'];
const byName = (tools: Tool[], name: string) => tools.find((t) => t.name === name);

function rawPost(body: unknown, headers: Record<string, string> = {}, method = 'POST'): Promise<Response> {
  return fetch(mcpUrl, {
    method,
    headers: {
      ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
  });
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

describe('MCP over Streamable HTTP (stateless, the default)', () => {
  it('initializes: server info, capabilities with listChanged, instructions, a CARP session as Mcp-Session-Id', async () => {
    const { client, transport } = await connect();
    expect(client.getServerVersion()).toMatchObject({ name: 'cra' });
    expect(client.getServerCapabilities()).toMatchObject({
      tools: { listChanged: true },
      resources: { listChanged: true },
      prompts: { listChanged: true },
    });
    expect(client.getInstructions()).toContain('cra_resolve');
    const sessionId = transport.sessionId!;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const session = await rt.app.inject({ method: 'GET', url: `/v1/sessions/${sessionId}`, headers: auth() });
    expect(session.statusCode, session.body).toBe(200);
    expect(session.json()).toMatchObject({ agent_id: 'dev-agent', status: 'active', agent_type: 'mcp-http-test' });
  });

  it("lists CRA's own tools before any resolve, with input schemas and annotations", async () => {
    const { client } = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(CRA_TOOLS);
    expect(byName(tools, 'cra_resolve')).toMatchObject({
      inputSchema: { type: 'object', required: ['goal'] },
      annotations: { readOnlyHint: true },
    });
    expect((await client.listResources()).resources).toEqual([]);
  });

  it('cra_resolve makes the grants tools (annotated from risk tier and executor) and says so with list_changed', async () => {
    const { client, notifications } = await connect();
    const { summary, resolution } = await resolveTool(client, {
      goal: 'Fix the login bug end to end',
      risk_tier: 'high',
      scope: { atlases: ['github-ops'] },
    });
    expect(summary).toMatchObject({ decision: 'allow_with_constraints', resolution_id: resolution.resolution_id });
    expect((summary.tools as { name: string }[]).map((t) => t.name)).toEqual([
      'github_close_issue',
      'github_create_issue',
      'github_create_pr',
      'github_merge_pr',
    ]);
    expect(notifications).toContain('notifications/tools/list_changed');
    expect(notifications).toContain('notifications/resources/list_changed');

    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(
      [...CRA_TOOLS, ...(summary.tools as { name: string }[]).map((t) => t.name)].sort(),
    );
    const create = byName(tools, 'github_create_issue')!;
    const grant = resolution.allowed_actions.find((g) => g.action_type === 'api.github.create_issue')!;
    expect(create.inputSchema).toEqual({ ...grant.schema, type: 'object' });
    expect(create.title).toBe('Create issue');
    expect(create.annotations).toEqual({
      title: 'Create issue',
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: true,
    });
    expect(create._meta).toMatchObject({
      'cra.dev/action_type': 'api.github.create_issue',
      'cra.dev/risk_tier': 'low',
    });
    // Merging is high risk (destructive) and a PUT (idempotent), and waits for approval.
    expect(byName(tools, 'github_merge_pr')!.annotations).toMatchObject({
      destructiveHint: true,
      idempotentHint: true,
    });
    expect(byName(tools, 'github_merge_pr')!.description).toContain('approval');
  });

  it('a granted tool call really reaches the target and answers with a structured execution result', async () => {
    const { client, transport } = await connect();
    await resolveTool(client, { goal: 'Report the login crash', context_hints: ['github.issues'] });
    const before = github.seen.length;
    const result = await call(client, 'github_create_issue', {
      owner: 'acme',
      repo: 'mobile-app',
      title: 'Bug: login crash',
      labels: ['bug'],
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      status: 'success',
      result: {
        output: { number: 42, url: 'https://github.example/repos/acme/mobile-app/issues', state: 'open' },
        output_type: 'application/json',
      },
    });
    expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(result.structuredContent);
    const seen = github.seen[before]!;
    expect(seen).toMatchObject({ method: 'POST', url: '/repos/acme/mobile-app/issues' });
    expect(seen.body).toEqual({ title: 'Bug: login crash', labels: ['bug'] });
    expect(seen.headers.authorization).toBe(`Bearer ${TOKEN}`);

    // The same grant through cra_execute, by action type.
    const viaExecute = await call(client, 'cra_execute', {
      action_type: 'api.github.create_issue',
      parameters: { owner: 'acme', repo: 'mobile-app', title: 'Bug: second' },
    });
    expect(viaExecute.structuredContent).toMatchObject({ status: 'success' });
    expect(github.seen.length).toBe(before + 2);

    // Every call is on the session's chain: adapter.call.received, then the CARP events.
    const chain = await events(transport.sessionId!);
    expect(verifyChain(chain).valid).toBe(true);
    const types = chain.map((e) => e.event_type);
    expect(types[0]).toBe('session.started');
    const received = chain.filter((e) => e.event_type === 'adapter.call.received');
    expect(received.map((e) => e.payload.tool_name)).toEqual(['cra_resolve', 'github_create_issue', 'cra_execute']);
    expect(received[1]!.payload).toMatchObject({
      platform: 'mcp',
      method: 'tools/call',
      known: true,
      action_type: 'api.github.create_issue',
    });
    const afterCall = types.slice(types.indexOf('adapter.call.received', types.indexOf('carp.resolution.completed')));
    expect(afterCall.slice(0, 7)).toEqual([
      'adapter.call.received',
      'carp.action.requested',
      'carp.action.validated',
      'carp.action.started',
      'carp.action.side_effect',
      'carp.action.completed',
      'adapter.call.received',
    ]);
    // The call's span is the parent of the execute's events; one trace per call.
    const call1 = received[1]!;
    const requested = chain.find((e) => e.event_type === 'carp.action.requested')!;
    expect(requested.trace_id).toBe(call1.trace_id);
    expect(requested.parent_span_id).toBe(call1.span_id);
    expect(JSON.stringify(chain)).not.toContain(TOKEN);
  });

  it('a denied or ungranted tool is a tool error ACTION_NOT_PERMITTED, recorded, nothing executed', async () => {
    const { client, transport } = await connect();
    await resolveTool(client, { goal: 'Tidy the repository', risk_tier: 'high', scope: { atlases: ['github-ops'] } });
    const before = github.seen.length;
    const denied = await call(client, 'github_update_branch_protection', { owner: 'a', repo: 'b', branch: 'main' });
    expect(denied.isError).toBe(true);
    expect(denied.structuredContent).toMatchObject({
      error: { code: 'ACTION_NOT_PERMITTED', details: { action_type: 'api.github.update_branch_protection' } },
      retry: { retriable: false },
    });
    expect((denied.structuredContent as { error: { message: string } }).error.message).toContain('denied');
    const unknown = await call(client, 'delete_everything', {});
    expect(unknown.isError).toBe(true);
    expect(unknown.structuredContent).toMatchObject({ error: { code: 'ACTION_NOT_PERMITTED' } });
    expect(github.seen.length).toBe(before);
    const refusals = (await events(transport.sessionId!)).filter(
      (e) => e.event_type === 'adapter.call.received' && e.payload.known === false,
    );
    expect(refusals.map((e) => [e.payload.tool_name, e.payload.error_code, e.severity])).toEqual([
      ['github_update_branch_protection', 'ACTION_NOT_PERMITTED', 'warn'],
      ['delete_everything', 'ACTION_NOT_PERMITTED', 'warn'],
    ]);
  });

  it('before any resolve a grant name is refused with a hint to resolve first', async () => {
    const { client } = await connect();
    const result = await call(client, 'github_create_issue', { owner: 'a', repo: 'b', title: 'c' });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ error: { code: 'ACTION_NOT_PERMITTED' } });
    expect(JSON.stringify(result.structuredContent)).toContain('cra_resolve');
  });

  it('an approval-required tool answers pending_approval with an approval id (not an error)', async () => {
    const { client, transport } = await connect();
    await resolveTool(client, { goal: 'Merge the fix', risk_tier: 'high', scope: { atlases: ['github-ops'] } });
    const before = github.seen.length;
    const result = await call(client, 'github_merge_pr', {
      owner: 'acme',
      repo: 'mobile-app',
      pull_number: 57,
      merge_method: 'squash',
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'pending_approval' });
    const approvalId = (result.structuredContent as { approval_id: string }).approval_id;
    expect(approvalId).toMatch(/^[0-9a-f-]{36}$/);
    expect(github.seen.length).toBe(before);
    const chain = await events(transport.sessionId!);
    expect(chain.at(-1)).toMatchObject({
      event_type: 'carp.action.approval.pending',
      payload: { approval_id: approvalId },
    });
  });

  it('invalid arguments are a tool error CONSTRAINT_VIOLATED with JSON Pointers; nothing executed', async () => {
    const { client } = await connect();
    await resolveTool(client, { goal: 'Report a bug', context_hints: ['github.issues'] });
    const before = github.seen.length;
    const result = await call(client, 'github_create_issue', {
      owner: 'not a valid owner!',
      repo: 'app',
      labels: 'bug',
    });
    expect(result.isError).toBe(true);
    const error = (result.structuredContent as { error: { code: string; violations: { path: string }[] } }).error;
    expect(error.code).toBe('CONSTRAINT_VIOLATED');
    expect(error.violations.map((v) => v.path).sort()).toEqual(['/labels', '/owner', '/title']);
    expect(github.seen.length).toBe(before);

    // CRA's own tools check their arguments the same way (pointers into the arguments).
    const bad = await call(client, 'cra_resolve', { goal: '', risk_tier: 'extreme' });
    expect(bad.isError).toBe(true);
    const badError = (bad.structuredContent as { error: { code: string; violations: { path: string }[] } }).error;
    expect(badError.code).toBe('INVALID_REQUEST');
    expect(badError.violations.map((v) => v.path).sort()).toEqual(['/goal', '/risk_tier']);
  });

  it('cra_validate tells what execute would do without running it', async () => {
    const { client } = await connect();
    await resolveTool(client, { goal: 'Merge the fix', risk_tier: 'high', scope: { atlases: ['github-ops'] } });
    const before = github.seen.length;
    const merge = await call(client, 'cra_validate', {
      tool: 'github_merge_pr',
      parameters: { owner: 'acme', repo: 'app', pull_number: 1, merge_method: 'squash' },
    });
    expect(merge.structuredContent).toMatchObject({ valid: true, decision: 'requires_approval', violations: [] });
    const broken = await call(client, 'cra_validate', {
      tool: 'github_create_issue',
      parameters: { owner: 'acme', repo: 'app' },
    });
    expect(broken.structuredContent).toMatchObject({ valid: false, decision: 'deny' });
    expect(github.seen.length).toBe(before);
  });

  it('context blocks are resources: cra://<atlas ref>/<pack id>, mime type from the content type', async () => {
    const { client } = await connect();
    const { resolution } = await resolveTool(client, { goal: 'Open a pull request', risk_tier: 'medium' });
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri).sort()).toEqual(
      resolution.context_blocks.map((b) => `cra://${b.atlas_ref}/${b.pack_ref}`).sort(),
    );
    const block = resolution.context_blocks.find((b) => b.pack_ref === 'pr-guide')!;
    const uri = `cra://default/github-ops@1.0.0/pr-guide`;
    expect(resources.find((r) => r.uri === uri)).toMatchObject({ name: 'pr-guide', mimeType: 'text/markdown' });
    const read = await client.readResource({ uri });
    expect(read.contents).toEqual([{ uri, mimeType: 'text/markdown', text: block.content }]);
    await expect(client.readResource({ uri: 'cra://default/github-ops@1.0.0/nope' })).rejects.toMatchObject({
      code: -32002,
    });
  });

  it('one prompt per atlas; getting it resolves against that atlas and returns the context as messages', async () => {
    const { client } = await connect();
    const { prompts } = await client.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual([
      'cluster-ops.resolve',
      'customer-support.resolve',
      'github-ops.resolve',
    ]);
    expect(prompts.find((p) => p.name === 'github-ops.resolve')!.arguments).toEqual([
      expect.objectContaining({ name: 'goal', required: true }),
      expect.objectContaining({ name: 'risk_tier' }),
    ]);
    const prompt = await client.getPrompt({ name: 'github-ops.resolve', arguments: { goal: 'Report a login bug' } });
    const [overview, ...blocks] = prompt.messages;
    expect(overview).toMatchObject({ role: 'user', content: { type: 'text' } });
    const text = (overview!.content as { text: string }).text;
    expect(text).toContain('Goal: Report a login bug');
    expect(text).toContain('github_create_issue');
    expect(blocks.length).toBeGreaterThan(0);
    expect(blocks[0]!.content).toMatchObject({
      type: 'resource',
      resource: { uri: expect.stringMatching(/^cra:\/\/default\/github-ops@1\.0\.0\//), mimeType: 'text/markdown' },
    });
    // The prompt's resolution is the session's current one: its grants are tools now.
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('github_create_issue');
    await expect(client.getPrompt({ name: 'nope.resolve', arguments: { goal: 'x' } })).rejects.toMatchObject({
      code: -32602,
    });
  });

  it('another replica sharing the stores answers the same session: tools, calls, resources', async () => {
    const { client, transport } = await connect();
    await resolveTool(client, { goal: 'Report the crash', context_hints: ['github.issues'] });
    const sessionId = transport.sessionId!;
    const other = await connect({ url: replicaUrl, sessionId });
    const { tools } = await other.client.listTools();
    expect(tools.map((t) => t.name)).toContain('github_create_issue');
    const result = await call(other.client, 'github_close_issue', {
      owner: 'acme',
      repo: 'app',
      issue_number: 42,
      state: 'closed',
    });
    expect(result.structuredContent).toMatchObject({ status: 'success' });
    expect((await other.client.listResources()).resources.map((r) => r.name)).toContain('issues-guide');
    const chain = await events(sessionId);
    expect(verifyChain(chain).valid).toBe(true);
    expect(chain.filter((e) => e.event_type === 'adapter.call.received').map((e) => e.payload.tool_name)).toEqual([
      'cra_resolve',
      'github_close_issue',
    ]);
  });

  it('another agent cannot use the session: 404 (as if it did not exist)', async () => {
    const { transport } = await connect();
    const res = await rawPost(
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      {
        authorization: `Bearer ${KEYS.approver}`,
        'mcp-session-id': transport.sessionId!,
        'mcp-protocol-version': '2025-06-18',
      },
    );
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });
  });

  it('no or a bad credential: HTTP 401 before any MCP handling, and the client cannot connect', async () => {
    const none = await rawPost(initialize);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const bad = await rawPost(initialize, { authorization: 'Bearer not-a-key' });
    expect(bad.status).toBe(401);
    await expect(connect({ key: 'not-a-key' })).rejects.toMatchObject({ code: 401 });
  });

  it('GET and DELETE are 405 with a JSON-RPC error in stateless mode', async () => {
    for (const method of ['GET', 'DELETE']) {
      const res = await rawPost(undefined, { authorization: `Bearer ${KEYS.agent}` }, method);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('POST');
      expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32000 }, id: null });
    }
  });

  it('an Origin that is not allowed is refused with 403 (DNS-rebinding protection)', async () => {
    const res = await rawPost(initialize, { authorization: `Bearer ${KEYS.agent}`, origin: 'http://evil.example' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: -32000, message: expect.stringContaining('Origin') } });
  });

  it('an unknown session id is 404; a request without one is served sessionless', async () => {
    const unknown = await rawPost(
      { jsonrpc: '2.0', id: 2, method: 'tools/list' },
      {
        authorization: `Bearer ${KEYS.agent}`,
        'mcp-session-id': '018f6b1c-0000-7000-8000-000000000001',
        'mcp-protocol-version': '2025-06-18',
      },
    );
    expect(unknown.status).toBe(404);
    const sessionless = await rawPost(
      {
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'cra_resolve', arguments: { goal: 'Report a bug', context_hints: ['github.issues'] } },
      },
      { authorization: `Bearer ${KEYS.agent}`, 'mcp-protocol-version': '2025-06-18' },
    );
    expect(sessionless.status).toBe(200);
    const text = await sessionless.text();
    const message = JSON.parse(
      text
        .split('\n')
        .find((l) => l.startsWith('data: '))!
        .slice(6),
    ) as {
      result: { structuredContent: { summary: { session_id: string; note: string } } };
    };
    // Resolved in a new CARP session of its own; the grants are reachable through cra_execute.
    expect(message.result.structuredContent.summary.note).toContain('cra_execute');
    const session = await rt.app.inject({
      method: 'GET',
      url: `/v1/sessions/${message.result.structuredContent.summary.session_id}`,
      headers: auth(),
    });
    expect(session.statusCode).toBe(200);
  });
});

describe('examples/mcp/client.ts', () => {
  it('resolves, reads the context, calls the granted tool it chose, and the target is really called', async () => {
    const before = github.seen.length;
    const run = await runMcpAgent({
      url: mcpUrl.href,
      apiKey: KEYS.agent,
      goal: 'Open an issue in acme/mobile-app: the Android login button does nothing',
      decide: (tools, context) => {
        expect(context.length).toBeGreaterThan(0);
        return tools.some((t) => t.name === 'github_create_issue')
          ? [{ name: 'github_create_issue', arguments: { owner: 'acme', repo: 'mobile-app', title: 'Bug: login' } }]
          : [];
      },
    });
    expect(run.toolsChanged).toBe(true);
    expect(run.tools).toContain('github_create_issue');
    expect(run.calls).toMatchObject([{ name: 'github_create_issue', isError: false, result: { status: 'success' } }]);
    expect(github.seen.slice(before)).toMatchObject([{ method: 'POST', url: '/repos/acme/mobile-app/issues' }]);
    expect((await events(run.session_id)).map((e) => e.event_type)).toContain('carp.action.completed');
  });
});

describe('MCP over Streamable HTTP, stateful sessions', () => {
  let stateful: Runtime;
  let url: URL;

  beforeAll(async () => {
    ({ rt: stateful, url } = await runtimeOn(await memoryStores(), { 'mcp.sessions': 'stateful' }));
  });
  afterAll(async () => {
    await stateful?.close();
  });

  it('delivers list_changed on the GET stream for a resolve made over the HTTP API in the same session', async () => {
    const { client, transport, notifications } = await connect({ url });
    const sessionId = transport.sessionId!;
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(CRA_TOOLS);
    const got = new Promise<void>((resolve) => {
      client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve());
    });
    const res = await stateful.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: auth(),
      payload: resolveRequest({ session: sessionId, hints: ['github.issues'] }),
    });
    expect(res.statusCode, res.body).toBe(200);
    await got;
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('github_create_issue');
    expect(notifications).toEqual(['notifications/resources/list_changed']);
  });

  it('cra_resolve notifies on its own response; DELETE ends the CARP session; unknown ids are 404', async () => {
    const { client, transport, notifications } = await connect({ url });
    const sessionId = transport.sessionId!;
    await resolveTool(client, { goal: 'Report a bug', context_hints: ['github.issues'] });
    expect(notifications).toContain('notifications/tools/list_changed');
    const result = await call(client, 'github_create_issue', { owner: 'acme', repo: 'app', title: 'Bug: x' });
    expect(result.structuredContent).toMatchObject({ status: 'success' });
    await transport.terminateSession();
    const session = await stateful.app.inject({ method: 'GET', url: `/v1/sessions/${sessionId}`, headers: auth() });
    expect(session.json()).toMatchObject({ status: 'ended' });
    const after = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${KEYS.agent}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(after.status).toBe(404);
    const missing = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${KEYS.agent}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(missing.status).toBe(400);
  });
});

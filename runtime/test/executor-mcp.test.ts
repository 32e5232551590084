/**
 * The `mcp` executor against a real upstream MCP server built with the SDK in this test
 * (stateful Streamable HTTP on a free port): an atlas in a temporary directory whose actions call
 * its tools, executed through CRA's HTTP execute. Structured output, text output, a tool error,
 * a JSON-RPC refusal, a timeout, an unreachable server, credentials from a Secret, the side
 * effect in TRACE, and a fresh connection after the upstream forgot the session.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyChain, type CARPExecutionResult, type CARPResolution, type TraceEvent } from '@cra/core';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { auth, executeRequest, resolveRequest, testRuntime } from './helpers/runtime.js';
import { secretsDir } from './helpers/secrets.js';

const TOKEN = 'orders-upstream-token-0123456789';

interface Upstream {
  url: string;
  calls: { tool: string; arguments: unknown; authorization: string | undefined; traceparent: unknown }[];
  sessions: Map<string, StreamableHTTPServerTransport>;
  initializations: number;
  close(): Promise<void>;
}

/** An MCP server with four tools, one transport (and SDK Server) per session. */
async function startUpstream(): Promise<Upstream> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const upstream: Upstream = { url: '', calls: [], sessions, initializations: 0, close: async () => undefined };

  const mcpServer = (req: IncomingMessage) => {
    const server = new Server({ name: 'orders-upstream', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [] }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      const { name, arguments: args = {}, _meta } = request.params;
      upstream.calls.push({
        tool: name,
        arguments: args,
        authorization: req.headers.authorization,
        traceparent: _meta?.traceparent,
      });
      switch (name) {
        case 'lookup_order':
          return {
            content: [{ type: 'text', text: JSON.stringify({ order_id: args.order_id, status: 'shipped' }) }],
            structuredContent: { order_id: args.order_id, status: 'shipped', total: 42.5 },
          };
        case 'order_note':
          return { content: [{ type: 'text', text: `Order ${String(args.order_id)} ships on Monday.` }] };
        case 'refund':
          return { content: [{ type: 'text', text: 'the refund window for this order is closed' }], isError: true };
        case 'slow_report':
          await new Promise((resolve) => setTimeout(resolve, 2_000));
          return { content: [{ type: 'text', text: '{}' }] };
        default:
          throw new McpError(-32602, `unknown tool ${name}`);
      }
    });
    return server;
  };

  const http: HttpServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = chunks.length > 0 ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : undefined;
        const sid = req.headers['mcp-session-id'];
        let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
        if (!transport) {
          if (typeof sid === 'string') {
            res.writeHead(404, { 'content-type': 'application/json' });
            res.end(
              JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }),
            );
            return;
          }
          upstream.initializations += 1;
          const created = new StreamableHTTPServerTransport({
            sessionIdGenerator: () => randomUUID(),
            onsessioninitialized: (id) => {
              sessions.set(id, created);
            },
          });
          transport = created;
          await mcpServer(req).connect(created);
        }
        await transport.handleRequest(req, res, body);
      })();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
  upstream.close = async () => {
    await Promise.all([...sessions.values()].map((t) => t.close()));
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return upstream;
}

const orderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['order_id'],
  properties: { order_id: { type: 'string', pattern: '^ord_[a-z0-9]+$' } },
};

function action(id: string, type: string, tool: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    type,
    name: id,
    description: `Calls ${tool} on the orders MCP server.`,
    domain: 'orders.support',
    riskTier: 'low',
    schema: orderSchema,
    executor: {
      type: 'mcp',
      url: { valueFrom: { env: 'ORDERS_MCP_URL' } },
      tool,
      headers: {
        Authorization: { valueFrom: { secretKeyRef: { name: 'orders-mcp', key: 'token' } }, prefix: 'Bearer ' },
      },
      timeoutMs: 5_000,
      ...extra,
    },
  };
}

async function writeAtlas(dir: string, deadPort: number): Promise<void> {
  await mkdir(join(dir, 'orders', 'context'), { recursive: true });
  await writeFile(join(dir, 'orders', 'context', 'orders-guide.md'), '# Orders\n\nLook orders up before refunding.\n');
  const manifest = {
    name: 'orders',
    version: '1.0.0',
    description: 'Orders through an upstream MCP server.',
    license: { type: 'free' },
    domains: [{ id: 'orders.support', name: 'Order support', riskTier: 'low' }],
    contextPacks: [{ id: 'orders-guide', domain: 'orders.support', format: 'markdown', tags: ['orders'] }],
    actions: [
      action('lookup-order', 'mcp.orders.lookup', 'lookup_order'),
      action('order-note', 'mcp.orders.note', 'order_note'),
      action('refund-order', 'mcp.orders.refund', 'refund'),
      action('slow-report', 'mcp.orders.slow_report', 'slow_report', { timeoutMs: 300 }),
      action('missing-tool', 'mcp.orders.missing', 'does_not_exist'),
      action('offline', 'mcp.orders.offline', 'lookup_order', { url: `http://127.0.0.1:${deadPort}/mcp` }),
    ],
    policies: [{ id: 'allow-orders', when: { actionType: 'mcp.orders.*' }, effect: 'allow' }],
  };
  await writeFile(join(dir, 'orders', 'atlas.yaml'), stringify(manifest));
}

/** A port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let upstream: Upstream;
let atlasDir: string;
let rt: Runtime;
let resolution: CARPResolution;

beforeAll(async () => {
  upstream = await startUpstream();
  atlasDir = await mkdtemp(join(tmpdir(), 'cra-mcp-atlas-'));
  await writeAtlas(atlasDir, await deadPort());
  rt = await testRuntime(
    { atlases: [atlasDir], secretsDir: await secretsDir({ 'orders-mcp': { token: TOKEN } }) },
    { env: { ORDERS_MCP_URL: upstream.url } },
  );
  expect(rt.problems()).toEqual([]);
  const res = await rt.app.inject({
    method: 'POST',
    url: '/v1/resolve',
    headers: auth(),
    payload: resolveRequest({ goal: 'Help with an order', hints: ['orders.support'] }),
  });
  expect(res.statusCode, res.body).toBe(200);
  resolution = res.json<CARPResolution>();
  expect(resolution.allowed_actions).toHaveLength(6);
});

afterAll(async () => {
  await rt?.close();
  await upstream?.close();
  if (atlasDir) await rm(atlasDir, { recursive: true, force: true });
});

async function execute(actionType: string, parameters: Record<string, unknown>): Promise<CARPExecutionResult> {
  const res = await rt.app.inject({
    method: 'POST',
    url: '/v1/execute',
    headers: auth(),
    payload: executeRequest(resolution, actionType, parameters),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<CARPExecutionResult>();
}

async function events(): Promise<TraceEvent[]> {
  const res = await rt.app.inject({ method: 'GET', url: `/v1/traces/${resolution.session_id}`, headers: auth() });
  return res.json<{ events: TraceEvent[] }>().events;
}

describe('mcp executor', () => {
  it('calls the upstream tool with the parameters and the Secret credential; structured content is the output', async () => {
    const before = upstream.calls.length;
    const result = await execute('mcp.orders.lookup', { order_id: 'ord_123' });
    expect(result.status).toBe('success');
    expect(result.result).toMatchObject({
      output: { order_id: 'ord_123', status: 'shipped', total: 42.5 },
      output_type: 'application/json',
    });
    const seen = upstream.calls[before]!;
    expect(seen).toMatchObject({ tool: 'lookup_order', arguments: { order_id: 'ord_123' } });
    expect(seen.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seen.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(result.side_effects).toEqual([
      { type: 'mcp.tool_call', target: `${upstream.url}#lookup_order`, reversible: false },
    ]);
    const chain = await events();
    expect(verifyChain(chain).valid).toBe(true);
    // In TRACE the address goes through redaction like any payload (the IP detector masks it).
    expect(chain.find((e) => e.event_type === 'carp.action.side_effect')!.payload).toMatchObject({
      type: 'mcp.tool_call',
      target: expect.stringMatching(/^http:\/\/\S+:\d+\/mcp#lookup_order$/),
      reversible: false,
    });
    expect(chain.at(-1)).toMatchObject({ event_type: 'carp.action.completed', payload: { status: 'success' } });
    expect(JSON.stringify(chain)).not.toContain(TOKEN);
  });

  it('reuses one connection for later calls; text content that is not JSON is text/plain output', async () => {
    const inits = upstream.initializations;
    const result = await execute('mcp.orders.note', { order_id: 'ord_7' });
    expect(result.result).toMatchObject({ output: 'Order ord_7 ships on Monday.', output_type: 'text/plain' });
    expect(upstream.initializations).toBe(inits);
  });

  it('isError from the tool → EXECUTION_FAILED, not retriable, with the tool text', async () => {
    const result = await execute('mcp.orders.refund', { order_id: 'ord_123' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'EXECUTION_FAILED', retriable: false });
    expect(result.error!.message).toContain('the refund window for this order is closed');
    expect(result.error!.details).toMatchObject({ tool: 'refund', text: 'the refund window for this order is closed' });
    expect((await events()).at(-1)).toMatchObject({
      event_type: 'carp.action.failed',
      payload: { error_code: 'EXECUTION_FAILED', retriable: false },
    });
  });

  it('a JSON-RPC error from the server (unknown tool) → EXECUTION_FAILED, not retriable', async () => {
    const result = await execute('mcp.orders.missing', { order_id: 'ord_1' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({
      code: 'EXECUTION_FAILED',
      retriable: false,
      details: { jsonrpc_code: -32602 },
    });
  });

  it('no answer within the timeout → TIMEOUT (retriable)', async () => {
    const result = await execute('mcp.orders.slow_report', { order_id: 'ord_1' });
    expect(result.status).toBe('timeout');
    expect(result.error).toMatchObject({ code: 'TIMEOUT', retriable: true, details: { timeoutMs: 300 } });
  });

  it('an unreachable server → EXECUTION_FAILED, retriable', async () => {
    const result = await execute('mcp.orders.offline', { order_id: 'ord_1' });
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'EXECUTION_FAILED', retriable: true });
    expect(result.error!.message).toContain('could not be reached');
  });

  it('connects again when the upstream forgot the session (the call never ran, so it is sent once more)', async () => {
    await execute('mcp.orders.lookup', { order_id: 'ord_1' });
    const inits = upstream.initializations;
    const before = upstream.calls.length;
    await Promise.all([...upstream.sessions.values()].map((t) => t.close()));
    upstream.sessions.clear();
    const result = await execute('mcp.orders.lookup', { order_id: 'ord_2' });
    expect(result.status).toBe('success');
    expect(upstream.initializations).toBe(inits + 1);
    expect(upstream.calls.slice(before).map((c) => c.arguments)).toEqual([{ order_id: 'ord_2' }]);
  });
});

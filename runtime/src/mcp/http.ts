/**
 * MCP over Streamable HTTP at `/mcp`, registered inside the authenticated scope: the API key or
 * JWT of the request is checked (401) before any MCP handling, and the MCP session's agent is
 * that principal. Two modes (`mcp.sessions`, docs/adr/0010-mcp-sessions.md):
 *
 * - `stateless` (default): a fresh `Server` + transport per POST, so any replica answers any
 *   request. `initialize` starts a CARP session and returns its id as `Mcp-Session-Id`; later
 *   requests naming it are bound to that CARP session (checked against the session store: the
 *   caller's own, active session, else 404), whose current resolution lives in the shared stores.
 *   `list_changed` caused by a call reaches the client on that call's SSE response. GET and
 *   DELETE are 405 (no standalone stream to keep).
 * - `stateful`: one `Server` + transport per MCP session on the replica that initialized it
 *   (the SDK's session management; route clients by `Mcp-Session-Id`). The GET stream carries
 *   `list_changed` for resolutions made anywhere in the session; DELETE ends the CARP session.
 *   400 without `Mcp-Session-Id` (except `initialize`), 404 for an unknown or foreign one.
 *
 * DNS-rebinding protection (the checks of the SDK's transport options and its host-validation
 * middleware, done here so they run for every mode): a `Host` whose hostname is not in
 * `mcp.allowedHosts` (when set) or an `Origin` not in `mcp.allowedOrigins` is refused with 403.
 */
import { isUuidV7, type IdSource, type Principal, type TraceEvent } from '@cra/core';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { operationSpan } from '../domain/call-context.js';
import type { Cra } from '../domain/cra.js';
import type { SpanContext } from '../domain/tracer.js';
import type { SessionRecord } from '../store/ports.js';
import type { Logger } from './errors.js';
import { createMcpServer, serverNotifier } from './server.js';
import { McpSession } from './session.js';

export const MCP_PATH = '/mcp';
export const MCP_SESSION_HEADER = 'mcp-session-id';
/** Stateful sessions idle this long are closed (and their CARP session ended). */
export const STATEFUL_IDLE_MS = 30 * 60_000;

export interface McpHttpOptions {
  sessions: 'stateless' | 'stateful';
  /** Hostnames (without port) a request's `Host` may name; empty: any. */
  allowedHosts: readonly string[];
  /** Origins (`scheme://host[:port]`) a request's `Origin` may name; empty: none may be sent. */
  allowedOrigins: readonly string[];
  idleTimeoutMs?: number;
}

export interface McpHttpDeps {
  cra: Cra;
  ids: IdSource;
  /** TRACE events of every replica (Redis fan-out) or of this one, for stateful `list_changed`. */
  feed: { subscribe(listener: (events: readonly TraceEvent[]) => void): () => void };
  options: McpHttpOptions;
}

const JSON_RPC_ERRORS = {
  methodNotAllowed: -32000,
  badRequest: -32000,
  forbidden: -32000,
  sessionNotFound: -32001,
} as const;

function rpcError(
  reply: FastifyReply,
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
) {
  return reply
    .code(status)
    .headers(headers)
    .type('application/json')
    .send({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/** The Host/Origin checks; a message when the request must be refused. */
export function rebindingRefusal(request: FastifyRequest, options: McpHttpOptions): string | undefined {
  if (options.allowedHosts.length > 0) {
    const host = request.headers.host;
    let hostname: string | undefined;
    try {
      hostname = host ? new URL(`http://${host}`).hostname : undefined;
    } catch {
      hostname = undefined;
    }
    if (!hostname || !options.allowedHosts.includes(hostname)) return `Invalid Host header: ${host ?? '(none)'}`;
  }
  const origin = request.headers.origin;
  if (origin !== undefined && !options.allowedOrigins.includes(origin)) return `Invalid Origin header: ${origin}`;
  return undefined;
}

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
};

interface ClientInfo {
  agentType?: string;
  metadata: Record<string, string>;
}

/** `requester.agent_type` and session metadata from an `initialize` request's clientInfo. */
function clientInfo(body: unknown): ClientInfo {
  const params = (
    body as { params?: { clientInfo?: { name?: unknown; version?: unknown }; protocolVersion?: unknown } }
  ).params;
  const name = typeof params?.clientInfo?.name === 'string' ? params.clientInfo.name.slice(0, 64) : undefined;
  const version = typeof params?.clientInfo?.version === 'string' ? params.clientInfo.version.slice(0, 64) : undefined;
  const protocol = typeof params?.protocolVersion === 'string' ? params.protocolVersion.slice(0, 64) : undefined;
  return {
    ...(name ? { agentType: name } : {}),
    metadata: {
      surface: 'mcp',
      ...(name ? { mcp_client: name } : {}),
      ...(version ? { mcp_client_version: version } : {}),
      ...(protocol ? { mcp_protocol_version: protocol } : {}),
    },
  };
}

/** The span of session bookkeeping (start, end): the request's trace when it names one. */
function bookkeepingSpan(ids: IdSource, traceparent?: string): SpanContext {
  return operationSpan(ids, undefined, traceparent);
}

export function mcpRoutes(app: FastifyInstance, deps: McpHttpDeps): void {
  const log = app.log as unknown as Logger;
  const serverDeps = { cra: deps.cra, ids: deps.ids, log };
  const stateful = deps.options.sessions === 'stateful' ? new StatefulSessions(deps, log) : undefined;
  if (stateful) {
    // Before the server stops accepting: open GET streams would otherwise hold it open.
    app.addHook('preClose', async () => stateful.closeAll('shutdown'));
  }

  const stateless = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    if (request.method !== 'POST') {
      return rpcError(
        reply,
        405,
        JSON_RPC_ERRORS.methodNotAllowed,
        'Method not allowed: this server is stateless; use POST',
        {
          allow: 'POST',
        },
      );
    }
    const principal = request.principal;
    let record: SessionRecord | undefined;
    if (isInitializeRequest(request.body)) {
      const info = clientInfo(request.body);
      record = await deps.cra.sessions.start(principal, bookkeepingSpan(deps.ids, header(request, 'traceparent')), {
        ...(info.agentType ? { agentType: info.agentType } : {}),
        metadata: info.metadata,
      });
      reply.raw.setHeader(MCP_SESSION_HEADER, record.session_id);
    } else {
      const id = header(request, MCP_SESSION_HEADER);
      if (id !== undefined) {
        record = await ownActiveSession(deps.cra, principal, id);
        if (!record) return rpcError(reply, 404, JSON_RPC_ERRORS.sessionNotFound, 'Session not found');
      }
    }
    const traceparent = header(request, 'traceparent');
    const session = new McpSession(deps.cra, {
      principal,
      ...(record ? { sessionId: record.session_id, head: record.head ?? null } : {}),
      ...(record?.agent_type ? { agentType: record.agent_type } : {}),
      ...(traceparent ? { traceparent } : {}),
    });
    const server = createMcpServer(serverDeps, session);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    reply.hijack();
    reply.raw.on('close', () => {
      transport.close().catch(() => undefined);
      server.close().catch(() => undefined);
    });
    await server.connect(transport);
    await transport.handleRequest(request.raw, reply.raw, request.body);
    return reply;
  };

  app.route({
    method: ['POST', 'GET', 'DELETE'],
    url: MCP_PATH,
    schema: { hide: true },
    handler: async (request, reply) => {
      const refused = rebindingRefusal(request, deps.options);
      if (refused) return rpcError(reply, 403, JSON_RPC_ERRORS.forbidden, refused);
      return stateful ? stateful.handle(request, reply, serverDeps) : stateless(request, reply);
    },
  });
}

/** The caller's own active session of that id, or undefined (unknown, foreign, ended). */
async function ownActiveSession(cra: Cra, principal: Principal, id: string): Promise<SessionRecord | undefined> {
  if (!isUuidV7(id)) return undefined;
  const record = await cra.stores.sessions.get(id);
  return record && record.agent_id === principal.agentId && record.status === 'active' ? record : undefined;
}

interface OpenSession {
  agentId: string;
  principal: Principal;
  session: McpSession;
  transport: StreamableHTTPServerTransport;
  close(reason: string): Promise<void>;
  lastSeen: number;
}

/** Stateful mode: MCP sessions held by this replica. */
class StatefulSessions {
  private readonly open = new Map<string, OpenSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly deps: McpHttpDeps,
    private readonly log: Logger,
  ) {
    const idle = deps.options.idleTimeoutMs ?? STATEFUL_IDLE_MS;
    this.sweeper = setInterval(
      () => {
        const cutoff = Date.now() - idle;
        for (const entry of this.open.values()) {
          if (entry.lastSeen < cutoff)
            entry.close('idle').catch((err: unknown) => log.warn({ err }, 'closing an idle MCP session failed'));
        }
      },
      Math.min(idle, 60_000),
    );
    this.sweeper.unref();
  }

  get size(): number {
    return this.open.size;
  }

  async handle(request: FastifyRequest, reply: FastifyReply, serverDeps: { cra: Cra; ids: IdSource; log: Logger }) {
    const id = header(request, MCP_SESSION_HEADER);
    if (id !== undefined) {
      const entry = this.open.get(id);
      // Another agent's session does not exist for this caller.
      if (!entry || entry.agentId !== request.principal.agentId) {
        return rpcError(reply, 404, JSON_RPC_ERRORS.sessionNotFound, 'Session not found');
      }
      entry.lastSeen = Date.now();
      const traceparent = header(request, 'traceparent');
      if (traceparent) entry.session.setTraceparent(traceparent);
      reply.hijack();
      await entry.transport.handleRequest(request.raw, reply.raw, request.body);
      return reply;
    }
    if (request.method !== 'POST' || !isInitializeRequest(request.body)) {
      return rpcError(reply, 400, JSON_RPC_ERRORS.badRequest, 'Bad Request: Mcp-Session-Id header is required');
    }
    return this.initialize(request, reply, serverDeps);
  }

  private async initialize(
    request: FastifyRequest,
    reply: FastifyReply,
    serverDeps: { cra: Cra; ids: IdSource; log: Logger },
  ) {
    const { cra, ids } = this.deps;
    const principal = request.principal;
    const info = clientInfo(request.body);
    const traceparent = header(request, 'traceparent');
    const record = await cra.sessions.start(principal, bookkeepingSpan(ids, traceparent), {
      ...(info.agentType ? { agentType: info.agentType } : {}),
      metadata: { ...info.metadata, mcp_sessions: 'stateful' },
    });
    const sessionId = record.session_id;
    const session = new McpSession(cra, {
      principal,
      sessionId,
      ...(info.agentType ? { agentType: info.agentType } : {}),
      ...(traceparent ? { traceparent } : {}),
      longLived: true,
    });
    const server = createMcpServer(serverDeps, session);
    let closed = false;
    let stopWatching = () => undefined as void;
    const entry: OpenSession = {
      agentId: principal.agentId,
      principal,
      session,
      lastSeen: Date.now(),
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: () => sessionId,
        onsessioninitialized: (sid) => {
          this.open.set(sid, entry);
        },
        onsessionclosed: () => entry.close('client closed the MCP session'),
      }),
      close: async (reason) => {
        if (closed) return;
        closed = true;
        this.open.delete(sessionId);
        stopWatching();
        await entry.transport.close().catch(() => undefined);
        await server.close().catch(() => undefined);
        await cra.sessions
          .end(principal, bookkeepingSpan(ids), sessionId, reason)
          .catch((err: unknown) => this.log.debug({ err, session_id: sessionId }, 'ending the CARP session failed'));
      },
    };
    entry.transport.onclose = () => {
      entry.close('transport closed').catch(() => undefined);
    };
    stopWatching = session.watch(this.deps.feed, serverNotifier(server), (err) =>
      this.log.warn({ err, session_id: sessionId }, 'MCP list_changed check failed'),
    );
    await server.connect(entry.transport);
    reply.hijack();
    await entry.transport.handleRequest(request.raw, reply.raw, request.body);
    return reply;
  }

  async closeAll(reason: string): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.open.values()].map((entry) => entry.close(reason)));
  }
}

/**
 * MCP over stdio (`cra mcp`): the same server as `/mcp`, for one agent and one MCP session per
 * process, against a runtime in this process. stdout carries the protocol only (logs go to
 * stderr). The MCP session is one CARP session, started at `initialize` (its `agent_type` is the
 * client's name) and ended when stdin closes; `list_changed` is sent for resolves made by the
 * client and for resolves made elsewhere in the session.
 */
import type { Readable, Writable } from 'node:stream';
import { randomIds, type IdSource, type Principal, type TraceEvent } from '@cra/core';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Cra } from '../domain/cra.js';
import type { Logger } from './errors.js';
import { createMcpServer, serverNotifier } from './server.js';
import { McpSession } from './session.js';

export interface StdioOptions {
  cra: Cra;
  principal: Principal;
  log: Logger;
  ids?: IdSource;
  /** TRACE events to watch for resolves made elsewhere; default the runtime's tracer. */
  feed?: { subscribe(listener: (events: readonly TraceEvent[]) => void): () => void };
  stdin?: Readable;
  stdout?: Writable;
}

export interface StdioServer {
  sessionId: string;
  /** Resolves when the client has gone (stdin closed) or `close()` was called. */
  closed: Promise<void>;
  close(reason?: string): Promise<void>;
}

export async function serveStdio(options: StdioOptions): Promise<StdioServer> {
  const { cra, principal, log } = options;
  const ids = options.ids ?? randomIds;
  const stdin = options.stdin ?? process.stdin;
  const stdout = options.stdout ?? process.stdout;
  const sessionId = ids.uuid();
  const session = new McpSession(cra, { principal, sessionId, longLived: true });
  const server = createMcpServer({ cra, ids, log }, session);
  const span = () => ({ trace_id: ids.traceId(), span_id: ids.spanId() });

  let started: Promise<unknown> = Promise.resolve();
  server.oninitialized = () => {
    const client = server.getClientVersion();
    if (client?.name) session.agentType = client.name.slice(0, 64);
    started = cra.sessions
      .start(principal, span(), {
        sessionId,
        ...(session.agentType ? { agentType: session.agentType } : {}),
        metadata: {
          surface: 'mcp',
          mcp_transport: 'stdio',
          ...(client?.name ? { mcp_client: client.name.slice(0, 64) } : {}),
          ...(client?.version ? { mcp_client_version: client.version.slice(0, 64) } : {}),
        },
      })
      .catch((err: unknown) => log.warn({ err, session_id: sessionId }, 'starting the CARP session failed'));
  };

  const stopWatching = session.watch(options.feed ?? cra.tracer, serverNotifier(server), (err) =>
    log.warn({ err, session_id: sessionId }, 'MCP list_changed check failed'),
  );
  const transport = new StdioServerTransport(stdin, stdout);
  let done!: () => void;
  const closed = new Promise<void>((resolve) => {
    done = resolve;
  });
  let closing: Promise<void> | undefined;
  const close = (reason = 'client disconnected'): Promise<void> =>
    (closing ??= (async () => {
      stopWatching();
      await server.close().catch(() => undefined);
      await started;
      const existing = await cra.stores.sessions.get(sessionId).catch(() => null);
      if (existing?.status === 'active') {
        await cra.sessions.end(principal, span(), sessionId, reason).catch((err: unknown) => {
          log.debug({ err, session_id: sessionId }, 'ending the CARP session failed');
        });
      }
      done();
    })());
  stdin.once('end', () => void close());
  stdin.once('close', () => void close());
  await server.connect(transport);
  return { sessionId, closed, close };
}

/**
 * Calls tools on upstream MCP servers over Streamable HTTP with the SDK `Client` (the `mcp`
 * executor's transport). One connected client per (URL, headers), shared by concurrent calls
 * (JSON-RPC multiplexes them); a client whose transport fails is dropped and the next call
 * connects again. A call on a cached client whose session the server no longer knows (HTTP 404)
 * never reached the tool, so it is retried once on a fresh connection.
 */
import { createHash } from 'node:crypto';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export interface UpstreamCall {
  url: string;
  headers: Record<string, string>;
  tool: string;
  arguments: Record<string, unknown>;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Forwarded as `_meta.traceparent` of the call (MCP trace-context propagation). */
  traceparent?: string;
}

/** Why a call failed, for the executor to map onto the error catalog. */
export type UpstreamFailure =
  | { kind: 'timeout' }
  | { kind: 'cancelled' }
  /** The upstream answered with a JSON-RPC error (unknown tool, invalid params…). */
  | { kind: 'protocol'; code: number; message: string }
  /** No answer: connection refused, HTTP error status, broken stream. */
  | { kind: 'transport'; message: string; status?: number };

export class UpstreamError extends Error {
  constructor(readonly failure: UpstreamFailure) {
    super(failure.kind === 'protocol' || failure.kind === 'transport' ? failure.message : failure.kind);
    this.name = 'UpstreamError';
  }
}

export interface McpUpstreamsOptions {
  clientInfo: { name: string; version: string };
}

interface Cached {
  client: Promise<Client>;
}

function keyOf(url: string, headers: Record<string, string>): string {
  const sorted = Object.entries(headers)
    .map(([k, v]) => [k.toLowerCase(), v] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // Hashed: header values may be credentials.
  return createHash('sha256')
    .update(JSON.stringify([url, sorted]))
    .digest('hex');
}

function isTimeout(reason: unknown): boolean {
  return (
    (reason instanceof McpError && reason.code === ErrorCode.RequestTimeout) ||
    (reason instanceof Error && reason.name === 'TimeoutError')
  );
}

export class McpUpstreams {
  private readonly clients = new Map<string, Cached>();

  constructor(private readonly options: McpUpstreamsOptions) {}

  get size(): number {
    return this.clients.size;
  }

  private connect(key: string, call: UpstreamCall, signal: AbortSignal): Cached {
    const client = new Client(this.options.clientInfo, { capabilities: {} });
    const transport = new StreamableHTTPClientTransport(new URL(call.url), { requestInit: { headers: call.headers } });
    const entry: Cached = {
      client: client.connect(transport, { signal, timeout: call.timeoutMs }).then(() => client),
    };
    // A transport that closes or fails takes its client out of the cache.
    client.onclose = () => this.evict(key, entry);
    entry.client.catch(() => this.evict(key, entry));
    this.clients.set(key, entry);
    return entry;
  }

  private evict(key: string, entry: Cached): void {
    if (this.clients.get(key) !== entry) return;
    this.clients.delete(key);
    entry.client.then((c) => c.close()).catch(() => undefined);
  }

  /** Calls the tool; resolves with its result (which may be `isError`), throws `UpstreamError`. */
  async callTool(call: UpstreamCall): Promise<CallToolResult> {
    const timeout = AbortSignal.timeout(call.timeoutMs);
    const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
    const key = keyOf(call.url, call.headers);
    for (let attempt = 0; ; attempt++) {
      const cached = this.clients.get(key);
      const entry = cached ?? this.connect(key, call, signal);
      try {
        const client = await entry.client;
        return (await client.callTool(
          {
            name: call.tool,
            arguments: call.arguments,
            ...(call.traceparent ? { _meta: { traceparent: call.traceparent } } : {}),
          },
          undefined,
          { signal, timeout: call.timeoutMs },
        )) as CallToolResult;
      } catch (err) {
        const failure = this.failureOf(err, timeout, call.signal);
        if (failure.kind === 'transport') this.evict(key, entry);
        // A stale session on a reused connection: the tool never ran, so one retry is safe.
        if (failure.kind === 'transport' && failure.status === 404 && cached && attempt === 0) continue;
        throw new UpstreamError(failure);
      }
    }
  }

  private failureOf(err: unknown, timeout: AbortSignal, caller: AbortSignal | undefined): UpstreamFailure {
    if (timeout.aborted || isTimeout(err)) return { kind: 'timeout' };
    if (caller?.aborted) return { kind: 'cancelled' };
    if (err instanceof StreamableHTTPError) {
      return { kind: 'transport', message: err.message, ...(typeof err.code === 'number' ? { status: err.code } : {}) };
    }
    if (err instanceof McpError && err.code !== ErrorCode.ConnectionClosed) {
      return { kind: 'protocol', code: err.code, message: err.message };
    }
    return { kind: 'transport', message: err instanceof Error ? causeOf(err) : String(err) };
  }

  /** Closes every client (terminating their sessions where the server allows it). */
  async close(): Promise<void> {
    const entries = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(
      entries.map(async (entry) => {
        const client = await entry.client.catch(() => undefined);
        if (!client) return;
        const transport = client.transport as StreamableHTTPClientTransport | undefined;
        await transport?.terminateSession().catch(() => undefined);
        await client.close().catch(() => undefined);
      }),
    );
  }
}

/** `fetch failed` says little: name the network error underneath (ECONNREFUSED…). */
function causeOf(err: Error): string {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return `${err.message} (${code})`;
    current = current.cause;
  }
  return err.message;
}

/**
 * The `mcp` executor (CRA-SPEC §5): calls `tool` on an upstream MCP server over Streamable HTTP
 * with the action's parameters as arguments, through the SDK client in `mcp/upstream.ts`.
 *
 * - `url` and header values are `ValueSource`s resolved like the http executor's (literal,
 *   environment, Secret file); they are never logged or put in errors (errors name the URL
 *   without its query string).
 * - Output: the tool's `structuredContent` (`application/json`); else its text content, parsed
 *   when it is one JSON text (`application/json`), otherwise the text (`text/plain`); other
 *   content (images, resources) as the content array (`application/json`).
 * - `isError: true` from the tool → EXECUTION_FAILED, not retriable, with the tool's text.
 *   A JSON-RPC error from the server (unknown tool, invalid arguments) → EXECUTION_FAILED, not
 *   retriable. No answer (connection refused, HTTP error, broken stream) → EXECUTION_FAILED,
 *   retriable. Past the timeout → TIMEOUT (retriable).
 * - Side effect: `{type: "mcp.tool_call", target: "<url>#<tool>", reversible: false}` — an
 *   executor cannot know whether a remote tool changed anything or can be undone.
 */
import { CraError, type McpExecutor, type SideEffect } from '@cra/core';
import { McpUpstreams, UpstreamError } from '../mcp/upstream.js';
import { publicUrl } from './http-request.js';
import type { Executor, ExecutorInput, ExecutorOutput } from './types.js';
import type { ValueResolver } from './values.js';

export interface McpExecutorOptions {
  values: ValueResolver;
  /** Used when the executor sets no `timeoutMs`; default 30 s. */
  defaultTimeoutMs?: number;
  /** The client's name and version in `initialize`. */
  clientInfo?: { name: string; version: string };
}

export const DEFAULT_MCP_TIMEOUT_MS = 30_000;
/** Error details carry at most this much of a failed tool's text. */
export const ERROR_TEXT_EXCERPT = 2048;
const MAX_TIMER_MS = 2_147_483_647;

export interface McpExecutorHandle extends Executor {
  /** Closes the cached upstream clients (runtime shutdown). */
  close(): Promise<void>;
}

interface ContentBlock {
  type: string;
  text?: string;
}

function textOf(content: readonly ContentBlock[] | undefined): string {
  return (content ?? [])
    .filter((c) => c.type === 'text' && typeof c.text === 'string')
    .map((c) => c.text!)
    .join('\n');
}

function outputOf(result: { structuredContent?: unknown; content?: ContentBlock[] }): {
  output: unknown;
  outputType: string;
} {
  if (result.structuredContent !== undefined)
    return { output: result.structuredContent, outputType: 'application/json' };
  const content = result.content ?? [];
  if (content.length > 0 && content.every((c) => c.type === 'text')) {
    const text = textOf(content);
    if (content.length === 1) {
      try {
        return { output: JSON.parse(text) as unknown, outputType: 'application/json' };
      } catch {
        // not JSON: the text itself
      }
    }
    return { output: text, outputType: 'text/plain' };
  }
  return { output: content, outputType: 'application/json' };
}

function effectiveTimeout(requested: number | undefined, configured: number): number {
  const wanted = requested === undefined || Number.isNaN(requested) ? configured : Math.min(requested, configured);
  return Math.max(1, Math.min(Math.floor(wanted), MAX_TIMER_MS));
}

export function createMcpExecutor(options: McpExecutorOptions): McpExecutorHandle {
  const { values } = options;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_MCP_TIMEOUT_MS;
  const upstreams = new McpUpstreams({ clientInfo: options.clientInfo ?? { name: 'cra-runtime', version: '0.0.0' } });

  return {
    async execute(input: ExecutorInput): Promise<ExecutorOutput> {
      const { actionId } = input;
      if (input.config.type !== 'mcp') {
        throw new CraError(
          'EXECUTION_FAILED',
          `action ${actionId}: the mcp executor cannot run type ${input.config.type}`,
          {
            retriable: false,
          },
        );
      }
      const config: McpExecutor = input.config;
      const { url, headers } = await endpoint(config, values, actionId);
      const target = publicUrl(url);
      const timeoutMs = effectiveTimeout(input.timeoutMs, config.timeoutMs ?? defaultTimeoutMs);
      const details = { url: target, tool: config.tool };

      let result;
      try {
        result = await upstreams.callTool({
          url: url.href,
          headers,
          tool: config.tool,
          arguments: input.parameters,
          timeoutMs,
          ...(input.signal ? { signal: input.signal } : {}),
          ...(input.traceparent ? { traceparent: input.traceparent } : {}),
        });
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        throw failure(err, actionId, details, timeoutMs);
      }
      const content = result.content as ContentBlock[] | undefined;
      if (result.isError === true) {
        const text = textOf(content).slice(0, ERROR_TEXT_EXCERPT);
        throw new CraError(
          'EXECUTION_FAILED',
          `action ${actionId}: MCP tool ${config.tool} failed: ${text || 'no message'}`,
          {
            details: {
              ...details,
              text,
              ...(result.structuredContent !== undefined ? { structured: result.structuredContent } : {}),
            },
            retriable: false,
          },
        );
      }
      const { output, outputType } = outputOf({
        ...(result.structuredContent !== undefined ? { structuredContent: result.structuredContent } : {}),
        ...(content ? { content } : {}),
      });
      const sideEffects: SideEffect[] = [
        { type: 'mcp.tool_call', target: `${target}#${config.tool}`, reversible: false },
      ];
      return { output, outputType, sideEffects, apiCalls: 1 };
    },
    close: () => upstreams.close(),
  };
}

/** The server's URL (http or https) and the request headers, resolved from their sources. */
async function endpoint(
  config: McpExecutor,
  values: ValueResolver,
  actionId: string,
): Promise<{ url: URL; headers: Record<string, string> }> {
  const raw = await values.resolve(config.url, `url of action ${actionId}`);
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new CraError('EXECUTION_FAILED', `action ${actionId}: the MCP server URL is not an http(s) URL`, {
      retriable: false,
    });
  }
  const headers: Record<string, string> = {};
  for (const [name, source] of Object.entries(config.headers ?? {})) {
    headers[name] = await values.resolve(source, `header ${name} of action ${actionId}`);
  }
  return { url, headers };
}

function failure(err: UpstreamError, actionId: string, details: Record<string, unknown>, timeoutMs: number): CraError {
  const f = err.failure;
  switch (f.kind) {
    case 'timeout':
      return new CraError('TIMEOUT', `action ${actionId}: no answer within ${timeoutMs} ms`, {
        details: { ...details, timeoutMs },
        retriable: true,
      });
    case 'cancelled':
      return new CraError('EXECUTION_FAILED', `action ${actionId}: cancelled`, {
        details: { ...details, cancelled: true },
        retriable: true,
      });
    case 'protocol':
      return new CraError('EXECUTION_FAILED', `action ${actionId}: the MCP server refused the call: ${f.message}`, {
        details: { ...details, jsonrpc_code: f.code },
        retriable: false,
      });
    case 'transport':
      return new CraError('EXECUTION_FAILED', `action ${actionId}: the MCP server could not be reached: ${f.message}`, {
        details: { ...details, ...(f.status !== undefined ? { status: f.status } : {}) },
        retriable: true,
      });
  }
}

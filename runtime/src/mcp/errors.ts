/**
 * CRA outcomes on MCP. A CARP refusal of a tool call (not permitted, constraint violated,
 * expired, rate limited, forbidden…) is a tool result with `isError: true` carrying the CARP
 * error code, message, violations and retry advice: the model reads it and can correct itself.
 * Protocol faults stay JSON-RPC errors and are mapped honestly: CRA's own failures
 * (`INTERNAL_ERROR`, `SERVICE_UNAVAILABLE`) and anything unexpected are -32603 / the catalog's
 * JSON-RPC code, with no internal detail on the wire. Outside `tools/call` (prompts, resources)
 * there is no tool-error channel, so a refusal there is a JSON-RPC error with the catalog's code.
 */
import { CraError, ERROR_CATALOG, type Violation } from '@cra/core';
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** MCP: "Resource not found" (JSON-RPC -32002, from the MCP specification). */
export const RESOURCE_NOT_FOUND = -32002;

/** CraErrors that are CRA's own fault, not the caller's: never a tool error. */
const SERVER_FAULTS: ReadonlySet<string> = new Set(['INTERNAL_ERROR', 'SERVICE_UNAVAILABLE']);

export interface Logger {
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

/** The structured content of a refused tool call. */
export function refusal(error: CraError, extra: Record<string, unknown> = {}) {
  const { violations, ...details } = (error.details ?? {}) as { violations?: Violation[] } & Record<string, unknown>;
  return {
    error: {
      code: error.code,
      message: error.message,
      ...(Object.keys(details).length > 0 ? { details } : {}),
      ...(violations ? { violations } : {}),
      ...(error.traceId ? { trace_id: error.traceId } : {}),
      ...extra,
    },
    retry: {
      retriable: error.retriable,
      ...(error.retryAfterSeconds !== undefined ? { retry_after_seconds: error.retryAfterSeconds } : {}),
    },
  };
}

export function toolResult(structured: Record<string, unknown>, isError = false): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(structured) }],
    structuredContent: structured,
    ...(isError ? { isError: true } : {}),
  };
}

export function toolError(error: CraError, extra: Record<string, unknown> = {}): CallToolResult {
  return toolResult(refusal(error, extra), true);
}

/** A JSON-RPC error for `err`: the catalog's code for a CraError, -32603 (no detail) otherwise. */
export function protocolError(err: unknown, log: Logger): McpError {
  if (err instanceof McpError) return err;
  if (err instanceof CraError) {
    if (SERVER_FAULTS.has(err.code)) log.error({ err, code: err.code }, 'MCP request failed');
    return new McpError(ERROR_CATALOG[err.code].jsonRpc, err.message, {
      code: err.code,
      retriable: err.retriable,
      ...(err.details && !SERVER_FAULTS.has(err.code) ? { details: err.details } : {}),
    });
  }
  log.error({ err }, 'MCP request failed unexpectedly');
  return new McpError(ErrorCode.InternalError, 'internal error', { code: 'INTERNAL_ERROR', retriable: true });
}

/**
 * A tool call's failure: CARP refusals → tool error results; CRA's own faults and anything
 * unexpected → thrown as JSON-RPC errors.
 */
export function toolFailure(err: unknown, log: Logger, extra: Record<string, unknown> = {}): CallToolResult {
  if (err instanceof CraError && !SERVER_FAULTS.has(err.code)) return toolError(err, extra);
  throw protocolError(err, log);
}

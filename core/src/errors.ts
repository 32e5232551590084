/**
 * The one error catalog (CRA-SPEC §9). Every code the runtime puts on the wire is here, with its
 * HTTP status, JSON-RPC code (for MCP), whether a retry can help, and a one-line meaning.
 * `docs/reference/errors.md` documents exactly these codes; a test keeps the two in step.
 */

export interface ErrorSpec {
  readonly status: number;
  readonly jsonRpc: number;
  readonly retriable: boolean;
  readonly summary: string;
}

export const ERROR_CATALOG = {
  INVALID_REQUEST: {
    status: 400,
    jsonRpc: -32602,
    retriable: false,
    summary: 'The request does not match its schema; `details.violations` lists every problem with its JSON Pointer.',
  },
  UNAUTHORIZED: {
    status: 401,
    jsonRpc: -32001,
    retriable: false,
    summary: 'No valid credentials: missing, unknown, expired or tampered API key or token.',
  },
  FORBIDDEN: {
    status: 403,
    jsonRpc: -32003,
    retriable: false,
    summary: 'Authenticated, but not allowed: another agent, another session, or a missing role.',
  },
  ACTION_NOT_PERMITTED: {
    status: 403,
    jsonRpc: -32004,
    retriable: false,
    summary: 'The action is not a grant of the resolution, its type does not match, or the decision forbids execution.',
  },
  NOT_FOUND: {
    status: 404,
    jsonRpc: -32005,
    retriable: false,
    summary: 'The session, approval or other named object does not exist.',
  },
  ATLAS_NOT_FOUND: {
    status: 404,
    jsonRpc: -32006,
    retriable: false,
    summary: 'No loaded atlas matches the request (scope, licence terms or identity selector).',
  },
  RESOLUTION_NOT_FOUND: {
    status: 404,
    jsonRpc: -32007,
    retriable: false,
    summary: 'No resolution with that id exists.',
  },
  CONFLICT: {
    status: 409,
    jsonRpc: -32009,
    retriable: false,
    summary: 'The request conflicts with the current state (ended session, decided approval, reused key).',
  },
  RESOLUTION_EXPIRED: {
    status: 410,
    jsonRpc: -32010,
    retriable: false,
    summary: 'The resolution or grant has expired; resolve again.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    jsonRpc: -32011,
    retriable: false,
    summary: 'The request body exceeds the configured limit.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    jsonRpc: -32012,
    retriable: false,
    summary: 'The request body is not JSON.',
  },
  CONSTRAINT_VIOLATED: {
    status: 422,
    jsonRpc: -32013,
    retriable: false,
    summary: 'Parameters violate the action schema or a policy constraint; `details.violations` has JSON Pointers.',
  },
  RATE_LIMITED: {
    status: 429,
    jsonRpc: -32029,
    retriable: true,
    summary: 'A rate limit is exhausted; retry after `retry.retry_after_seconds`.',
  },
  EXECUTION_FAILED: {
    status: 502,
    jsonRpc: -32050,
    retriable: true,
    summary: 'The executor reached the target system and it failed; `retry.retriable` says whether to retry.',
  },
  TIMEOUT: {
    status: 504,
    jsonRpc: -32054,
    retriable: true,
    summary: 'The executor did not answer within its timeout.',
  },
  INTERNAL_ERROR: {
    status: 500,
    jsonRpc: -32603,
    retriable: true,
    summary: 'An unexpected fault inside CRA. Never carries a stack trace.',
  },
  SERVICE_UNAVAILABLE: {
    status: 503,
    jsonRpc: -32053,
    retriable: true,
    summary: 'CRA is overloaded, starting, shutting down, or a fail-closed store is unreachable.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

/** A failure with a catalog code. Thrown inside CRA; turned into a CARPError at the edge. */
export class CraError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly retriable: boolean;
  /** The TRACE/OpenTelemetry trace of the operation that failed, once known. */
  traceId: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      details?: Record<string, unknown>;
      retryAfterSeconds?: number;
      retriable?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CraError';
    this.code = code;
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.retriable = options.retriable ?? ERROR_CATALOG[code].retriable;
  }

  get status(): number {
    return ERROR_CATALOG[this.code].status;
  }
}

export function isCraError(value: unknown): value is CraError {
  return value instanceof CraError;
}

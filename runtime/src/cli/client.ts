/**
 * A small typed client for the runtime's HTTP API (the routes in `runtime/src/routes`), over
 * fetch. CARPError bodies become a CliError reading `CODE: message`, followed by each violation
 * with its JSON Pointer; an unreachable server becomes a message saying where it looked.
 */
import type {
  CARPError,
  CARPExecutionResult,
  CARPResolution,
  CARPValidationResult,
  VerifyResult,
  Violation,
} from '@cra/core';
import { CliError, UsageError } from './errors.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

export interface ClientOptions {
  server: string;
  apiKey?: string;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'timeout';

/** An approval as GET /v1/approvals returns it. */
export interface Approval {
  approval_id: string;
  status: ApprovalStatus;
  resolution_id: string;
  execution_id: string;
  agent_id: string;
  session_id: string;
  action_type: string;
  action_id?: string;
  approvers: string[];
  parameters?: Record<string, unknown>;
  created_at: string;
  expires_at: string;
  decided_by?: string;
  decided_at?: string;
  reason?: string;
  result?: CARPExecutionResult;
}

export type TraceVerification = VerifyResult & { session_id: string };

/** Raised for a non-2xx answer: the catalog code and the violations, when the body has them. */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
    readonly violations: readonly Violation[],
    details: readonly string[],
  ) {
    super(message, 1, details);
    this.name = 'ApiError';
  }
}

interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  accept?: string;
  timeoutMs?: number;
  /** Send no API key (the probes are open). */
  anonymous?: boolean;
}

function isCarpError(value: unknown): value is CARPError {
  const error = (value as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

function violationsOf(body: CARPError): Violation[] {
  const list = (body.error.details as { violations?: unknown } | undefined)?.violations;
  return Array.isArray(list)
    ? list.filter(
        (v): v is Violation =>
          typeof (v as Violation)?.path === 'string' && typeof (v as Violation)?.message === 'string',
      )
    : [];
}

export class CraClient {
  readonly server: string;
  private readonly apiKey: string | undefined;

  constructor(options: ClientOptions) {
    let url: URL;
    try {
      url = new URL(options.server);
    } catch {
      throw new UsageError(`--server: "${options.server}" is not a URL (e.g. ${DEFAULT_SERVER})`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`--server: "${options.server}" must be an http:// or https:// URL`);
    }
    this.server = url.href.replace(/\/+$/, '');
    this.apiKey = options.apiKey === '' ? undefined : options.apiKey;
  }

  /** The raw response of a request; non-2xx answers throw ApiError. */
  async send(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(this.server + path);
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    if (this.apiKey !== undefined && options.anonymous !== true) headers.authorization = `Bearer ${this.apiKey}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        ...(options.timeoutMs !== undefined ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
      });
    } catch (err) {
      throw this.unreachable(err);
    }
    if (!response.ok) throw await this.failure(response);
    return response;
  }

  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.send(method, path, options);
    try {
      return (await response.json()) as T;
    } catch {
      throw new CliError(`${method} ${path}: the server answered ${response.status} with a body that is not JSON`);
    }
  }

  private unreachable(err: unknown): CliError {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    if ((err as Error).name === 'TimeoutError') {
      return new CliError(`the CRA runtime at ${this.server} did not answer in time`);
    }
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    return new CliError(`cannot reach the CRA runtime at ${this.server} (${reason})`, 1, [
      'start one with "cra serve", or point --server / CRA_URL at a running runtime',
    ]);
  }

  private async failure(response: Response): Promise<ApiError> {
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!isCarpError(body)) {
      const snippet = text.trim().slice(0, 200);
      return new ApiError(
        `HTTP ${response.status} ${response.statusText}${snippet ? `: ${snippet}` : ''}`,
        response.status,
        undefined,
        [],
        [],
      );
    }
    const violations = violationsOf(body);
    const details = violations.map((v) => `${v.path || '/'}: ${v.message}`);
    if (body.retry?.retry_after_seconds !== undefined) details.push(`retry after ${body.retry.retry_after_seconds} s`);
    if (body.error.code === 'UNAUTHORIZED' && this.apiKey === undefined) {
      details.push('pass an API key with --api-key or the CRA_API_KEY environment variable');
    }
    return new ApiError(
      `${body.error.code}: ${body.error.message}`,
      response.status,
      body.error.code,
      violations,
      details,
    );
  }

  resolve(request: unknown): Promise<CARPResolution> {
    return this.json('POST', '/v1/resolve', { body: request });
  }

  resolution(resolutionId: string): Promise<CARPResolution> {
    return this.json('GET', `/v1/resolutions/${encodeURIComponent(resolutionId)}`);
  }

  execute(request: unknown): Promise<CARPExecutionResult> {
    return this.json('POST', '/v1/execute', { body: request });
  }

  validate(request: unknown): Promise<CARPValidationResult> {
    return this.json('POST', '/v1/validate', { body: request });
  }

  /** The session's events as JSONL, streamed. */
  async traceJsonl(sessionId: string): Promise<ReadableStream<Uint8Array>> {
    const response = await this.send('GET', `/v1/traces/${encodeURIComponent(sessionId)}`, {
      query: { format: 'jsonl' },
      accept: 'application/x-ndjson',
    });
    if (response.body === null) throw new CliError('the server sent an empty trace export');
    return response.body;
  }

  verifyTrace(sessionId: string): Promise<TraceVerification> {
    return this.json('GET', `/v1/traces/${encodeURIComponent(sessionId)}/verify`);
  }

  async approvals(filter: { status?: ApprovalStatus; limit?: number }): Promise<Approval[]> {
    const body = await this.json<{ approvals: Approval[] }>('GET', '/v1/approvals', { query: { ...filter } });
    return body.approvals;
  }

  decide(approvalId: string, decision: 'approve' | 'deny', reason?: string): Promise<Approval> {
    return this.json('POST', `/v1/approvals/${encodeURIComponent(approvalId)}/${decision}`, {
      body: reason === undefined ? {} : { reason },
    });
  }

  /** A probe's status and body; never throws for a non-2xx answer. */
  async probe(path: '/healthz' | '/readyz', timeoutMs = 5000): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await fetch(this.server + path, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw this.unreachable(err);
    }
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    return { status: response.status, body };
  }
}

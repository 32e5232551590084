/**
 * The `http` executor (CRA-SPEC §5): calls the target system with Node's fetch and turns the
 * answer into an executor output, or into EXECUTION_FAILED / TIMEOUT with `retriable`.
 *
 * Decisions:
 * - Timeout: the executor's `timeoutMs` (or `defaultTimeoutMs`); a caller's `timeoutMs` can only
 *   shorten it. It covers the whole exchange, body included. A caller's signal aborting with a
 *   TimeoutError is a TIMEOUT; any other caller abort is EXECUTION_FAILED "cancelled" (retriable).
 * - Retriable: network errors, 408, 429 and 5xx; other statuses are not. `Retry-After` of the
 *   target becomes the error's `retryAfterSeconds`.
 * - Side effects: every non-GET call that succeeds records one `http.<method>` side effect on the
 *   URL without query string, `reversible: false`: the executor cannot know an undo exists, so it
 *   claims none (a PUT or DELETE is idempotent, not reversible). GET records none.
 * - Headers: configured ones (values resolved, possibly secrets), then `user-agent` (unless
 *   configured), `accept: application/json, *\/*;q=0.5` (unless configured), `content-type:
 *   application/json` with a body (unless configured) and `traceparent` when given. No header
 *   value ever goes into an error, and error messages name headers only.
 * - Redirects are followed by fetch (which drops `authorization` on a cross-origin hop).
 */
import { CraError, type HttpExecutor, type SideEffect } from '@cra/core';
import { planHttpRequest, publicUrl } from './http-request.js';
import { bodyExcerpt, mapOutput, parseBody, readBounded, retryAfterSeconds } from './http-response.js';
import type { Executor, ExecutorInput, ExecutorOutput } from './types.js';
import type { ValueResolver } from './values.js';

export interface HttpExecutorOptions {
  values: ValueResolver;
  /** Used when the executor sets no `timeoutMs`; default 10 s. */
  defaultTimeoutMs?: number;
  /** Largest response body accepted; default 1 MiB. */
  maxResponseBytes?: number;
  /** Sent as `user-agent` unless the executor configures one; default `cra-runtime`. */
  userAgent?: string;
}

export const DEFAULT_HTTP_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
/** Error details carry at most this much of a failed response's body. */
export const ERROR_BODY_EXCERPT_BYTES = 2048;
const MAX_TIMER_MS = 2_147_483_647;
const RETRIABLE_STATUSES = new Set([408, 429]);

export function createHttpExecutor(options: HttpExecutorOptions): Executor {
  const { values } = options;
  const defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const userAgent = options.userAgent ?? 'cra-runtime';

  return {
    async execute(input: ExecutorInput): Promise<ExecutorOutput> {
      const { config, actionId } = input;
      if (config.type !== 'http') {
        throw new CraError('EXECUTION_FAILED', `action ${actionId}: the http executor cannot run type ${config.type}`, {
          retriable: false,
        });
      }
      const plan = await planHttpRequest(config, input.parameters, values, actionId);
      const headers = await buildHeaders(config, input, values, userAgent, plan.body !== undefined);
      const url = publicUrl(plan.url);
      const timeoutMs = effectiveTimeout(input.timeoutMs, config.timeoutMs ?? defaultTimeoutMs);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = input.signal === undefined ? timeout : AbortSignal.any([timeout, input.signal]);
      const fail = (message: string, details: Record<string, unknown> = {}, retriable = false): CraError =>
        new CraError('EXECUTION_FAILED', `action ${actionId}: ${message}`, { details: { url, ...details }, retriable });

      let response: Response;
      let bytes: Uint8Array;
      try {
        response = await fetch(plan.url, {
          method: config.method,
          headers,
          body: plan.body,
          signal,
          redirect: 'follow',
        });
        if (!isSuccess(response.status, config)) {
          throw await statusFailure(response, actionId, url);
        }
        const declared = Number(response.headers.get('content-length'));
        const read =
          Number.isFinite(declared) && declared > maxResponseBytes
            ? { bytes: new Uint8Array(0), exceeded: true }
            : await readBounded(response.body, maxResponseBytes);
        if (read.exceeded) {
          await response.body?.cancel().catch(() => undefined);
          throw fail(`the response is larger than ${maxResponseBytes} bytes`, {
            status: response.status,
            limitBytes: maxResponseBytes,
          });
        }
        bytes = read.bytes;
      } catch (error) {
        throw transportFailure(error, { actionId, url, timeoutMs, timeout, caller: input.signal });
      }

      const status = response.status;
      const parsed = parseBody(bytes, response.headers.get('content-type'), (message) =>
        fail(message, { status, body: excerptOf(bytes) }),
      );
      const mapping = config.response?.output;
      const output = mapping === undefined ? parsed.body : mapOutput(parsed.body, mapping, (message) => fail(message));
      const sideEffects: SideEffect[] =
        config.method === 'GET'
          ? []
          : [{ type: `http.${config.method.toLowerCase()}`, target: url, reversible: false, details: { status } }];
      return {
        output,
        outputType: mapping === undefined ? parsed.mediaType : 'application/json',
        sideEffects,
        apiCalls: 1,
        status,
      };
    },
  };
}

async function buildHeaders(
  config: HttpExecutor,
  input: ExecutorInput,
  values: ValueResolver,
  userAgent: string,
  hasBody: boolean,
): Promise<Headers> {
  const entries = await Promise.all(
    Object.entries(config.headers ?? {}).map(
      async ([name, source]) =>
        [name, await values.resolve(source, `header ${name} of action ${input.actionId}`)] as const,
    ),
  );
  const headers = new Headers();
  for (const [name, value] of entries) {
    try {
      headers.set(name, value);
    } catch {
      // Headers refuses bad names and values with CR/LF; the value may be a secret: name only.
      throw new CraError('EXECUTION_FAILED', `header ${name} of action ${input.actionId} is not a valid HTTP header`, {
        details: { header: name },
        retriable: false,
      });
    }
  }
  if (!headers.has('user-agent')) headers.set('user-agent', userAgent);
  if (!headers.has('accept')) headers.set('accept', 'application/json, */*;q=0.5');
  if (hasBody && !headers.has('content-type')) headers.set('content-type', 'application/json');
  if (input.traceparent !== undefined) headers.set('traceparent', input.traceparent);
  return headers;
}

function effectiveTimeout(requested: number | undefined, configured: number): number {
  const wanted = requested === undefined || Number.isNaN(requested) ? configured : Math.min(requested, configured);
  return Math.max(0, Math.min(Math.floor(wanted), MAX_TIMER_MS));
}

function isSuccess(status: number, config: HttpExecutor): boolean {
  const accepted = config.response?.successStatus;
  return accepted === undefined ? status >= 200 && status <= 299 : accepted.includes(status);
}

async function statusFailure(response: Response, actionId: string, url: string): Promise<CraError> {
  const { status } = response;
  const body = await bodyExcerpt(response.body, ERROR_BODY_EXCERPT_BYTES);
  const retriable = status >= 500 || RETRIABLE_STATUSES.has(status);
  const retryAfter = retryAfterSeconds(response.headers.get('retry-after'), Date.now());
  return new CraError('EXECUTION_FAILED', `action ${actionId}: the target answered ${status}`, {
    details: { status, body, url },
    retriable,
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
  });
}

interface FailureContext {
  actionId: string;
  url: string;
  timeoutMs: number;
  timeout: AbortSignal;
  caller: AbortSignal | undefined;
}

/** Anything thrown while talking to the target, as a CraError. */
function transportFailure(error: unknown, context: FailureContext): CraError {
  if (error instanceof CraError) return error;
  const { actionId, url, timeoutMs, timeout, caller } = context;
  const timedOut = timeout.aborted || (caller?.aborted === true && isTimeoutReason(caller.reason));
  if (timedOut) {
    return new CraError('TIMEOUT', `action ${actionId}: no answer within ${timeoutMs} ms`, {
      details: { url, timeoutMs },
      retriable: true,
    });
  }
  if (caller?.aborted === true) {
    return new CraError('EXECUTION_FAILED', `action ${actionId}: cancelled`, {
      details: { url, cancelled: true },
      retriable: true,
    });
  }
  const cause = networkCode(error);
  return new CraError('EXECUTION_FAILED', `action ${actionId}: the request failed (${cause})`, {
    details: { url, cause },
    retriable: true,
    cause: error,
  });
}

function isTimeoutReason(reason: unknown): boolean {
  return reason instanceof Error && reason.name === 'TimeoutError';
}

function networkCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return error instanceof Error ? error.message : 'unknown error';
}

function excerptOf(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes.subarray(0, ERROR_BODY_EXCERPT_BYTES));
}

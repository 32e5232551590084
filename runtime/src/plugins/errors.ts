/**
 * One mapping from failures to the CARPError envelope (CRA-SPEC §9). Client faults keep their
 * catalog code; anything unexpected is INTERNAL_ERROR with no stack trace on the wire.
 */
import { CARP_VERSION, CraError, ERROR_CATALOG, isoTime, type CARPError, type ErrorCode } from '@cra/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

function requestIdOf(body: unknown, fallback: string): string {
  const id = body && typeof body === 'object' ? (body as { request_id?: unknown }).request_id : undefined;
  return typeof id === 'string' && id.length > 0 && id.length <= 128 ? id : fallback;
}

/** The CARPError envelope for `error`, echoing the body's request_id when it has one. */
export function envelope(body: unknown, fallbackRequestId: string, error: CraError): CARPError {
  return {
    carp_version: CARP_VERSION,
    request_id: requestIdOf(body, fallbackRequestId),
    timestamp: isoTime(Date.now()),
    error: {
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
      ...(error.traceId ? { trace_id: error.traceId } : {}),
    },
    retry: {
      retriable: error.retriable,
      ...(error.retryAfterSeconds !== undefined ? { retry_after_seconds: error.retryAfterSeconds } : {}),
    },
  };
}

/** Fastify and Node failures that are the client's fault, mapped to catalog codes. */
function fromFastify(error: FastifyError): CraError | undefined {
  if (error.validation) {
    const violations = error.validation.map((v) => ({
      code: 'INVALID_REQUEST',
      path:
        `${v.instancePath || ''}${v.keyword === 'required' ? `/${String((v.params as { missingProperty?: string }).missingProperty)}` : ''}` ||
        '/',
      message: v.message ?? 'is invalid',
    }));
    return new CraError('INVALID_REQUEST', `${error.validationContext ?? 'request'} is invalid`, {
      details: { violations },
    });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CraError('PAYLOAD_TOO_LARGE', error.message);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CraError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new CraError('INVALID_REQUEST', 'the JSON body is empty');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new CraError('INVALID_REQUEST', error.message);
    default:
      break;
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON/i.test(error.message))) {
    return new CraError('INVALID_REQUEST', `the body is not valid JSON: ${error.message}`);
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    const code: ErrorCode =
      error.statusCode === 404 ? 'NOT_FOUND' : error.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'INVALID_REQUEST';
    return new CraError(code, error.message);
  }
  return undefined;
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: CraError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header('retry-after', String(error.retryAfterSeconds));
  const limit =
    error.code === 'RATE_LIMITED'
      ? (error.details as { limit?: number; window_seconds?: number } | undefined)
      : undefined;
  if (limit?.limit !== undefined && limit.window_seconds !== undefined) {
    // The limit that refused this request, not the per-agent request limit set earlier.
    reply.header('ratelimit-policy', `${limit.limit};w=${limit.window_seconds}`);
    reply.header(
      'ratelimit',
      `limit=${limit.limit}, remaining=0, reset=${error.retryAfterSeconds ?? limit.window_seconds}`,
    );
  }
  if (error.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="cra", error="invalid_token"');
  return reply
    .code(ERROR_CATALOG[error.code].status)
    .type('application/json')
    .send(envelope(request.body, String(request.id), error));
}

/**
 * Errors → envelopes. `onInternal` hears of every request answered `500 INTERNAL_ERROR` before the
 * answer goes out (to record it in the request's session); it must not throw.
 */
export function registerErrorHandling(
  app: FastifyInstance,
  onInternal?: (request: FastifyRequest) => Promise<void>,
): void {
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const known = error instanceof CraError ? error : fromFastify(error);
    if (known) {
      if (known.status >= 500) request.log.error({ err: error }, 'request failed');
      else request.log.debug({ code: known.code }, known.message);
      if (known.code === 'INTERNAL_ERROR') await onInternal?.(request);
      return sendError(request, reply, known);
    }
    request.log.error({ err: error }, 'unexpected failure');
    await onInternal?.(request);
    return sendError(request, reply, new CraError('INTERNAL_ERROR', 'an internal error occurred; see the runtime log'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, new CraError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );
}

/** The CARP operations over HTTP: resolve, execute, validate, batch (CRA-SPEC §8). */
import { CraError, ERROR_CATALOG, OPERATIONS } from '@cra/core';
import type { FastifyInstance } from 'fastify';
import { envelope } from '../plugins/errors.js';
import { jsonBytes } from '../json-bytes.js';
import type { Cra } from '../domain/cra.js';
import type { CallContext } from '../domain/call-context.js';
import {
  errors,
  executionResponse,
  requestBody,
  resolutionResponse,
  uuidParam,
  validationResponse,
} from './schemas.js';

/** CARP bodies are validated by the domain (the same validator MCP and the CLI use). */
const noFastifyValidation = { validatorCompiler: () => () => true } as const;

export function callContext(request: {
  principal: CallContext['principal'];
  headers: Record<string, unknown>;
}): CallContext {
  const traceparent = request.headers.traceparent;
  return { principal: request.principal, ...(typeof traceparent === 'string' ? { traceparent } : {}) };
}

export const MAX_BATCH = 100;
const JSON_TYPE = 'application/json; charset=utf-8';

export function carpRoutes(app: FastifyInstance, cra: Cra): void {
  app.post(
    '/v1/resolve',
    {
      ...noFastifyValidation,
      schema: {
        tags: ['carp'],
        summary: 'Resolve context and permitted actions for a goal',
        body: requestBody,
        response: { 200: resolutionResponse, ...errors(400, 401, 403, 404, 409, 413, 429, 500, 503) },
      },
    },
    // The answer goes out as the JSON bytes json-bytes.ts builds, reusing what the resolution's
    // Redis writes already serialised, instead of through the schema serializer and the ASCII
    // conversion (~0.3 ms per 32 kB answer). test/resolve-response.test.ts holds it to exactly
    // what the response schema would have let through.
    async (request, reply) =>
      reply.type(JSON_TYPE).send(jsonBytes(await cra.resolver.run(callContext(request), request.body), 1)),
  );

  app.get(
    '/v1/resolutions/:resolution_id',
    {
      schema: {
        tags: ['carp'],
        summary: 'A resolution issued to the caller',
        params: uuidParam('resolution_id'),
        response: { 200: resolutionResponse, ...errors(400, 401, 404) },
      },
    },
    async (request) =>
      cra.resolver.get(callContext(request), (request.params as { resolution_id: string }).resolution_id),
  );

  app.post(
    '/v1/execute',
    {
      ...noFastifyValidation,
      schema: {
        tags: ['carp'],
        summary: 'Execute a granted action (202 when it waits for approval)',
        body: requestBody,
        response: {
          200: executionResponse,
          202: executionResponse,
          ...errors(400, 401, 403, 404, 409, 410, 413, 422, 429, 500, 503),
        },
      },
    },
    async (request, reply) => {
      const result = await cra.executor.execute(callContext(request), request.body);
      return reply.code(result.status === 'pending_approval' ? 202 : 200).send(result);
    },
  );

  app.post(
    '/v1/validate',
    {
      ...noFastifyValidation,
      schema: {
        tags: ['carp'],
        summary: 'Run every execute check except the executor; consumes no rate-limit tokens',
        body: requestBody,
        response: { 200: validationResponse, ...errors(400, 401, 403, 404, 413, 500, 503) },
      },
    },
    async (request) => cra.executor.validate(callContext(request), request.body),
  );

  app.post(
    '/v1/batch',
    {
      schema: {
        tags: ['carp'],
        summary: `Run up to ${MAX_BATCH} CARP requests in order; each reports its own outcome`,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['requests'],
          properties: {
            requests: { type: 'array', minItems: 1, maxItems: MAX_BATCH, items: { type: 'object' } },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['total', 'succeeded', 'failed', 'results'],
            properties: {
              total: { type: 'integer' },
              succeeded: { type: 'integer' },
              failed: { type: 'integer' },
              results: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['index', 'status'],
                  properties: {
                    index: { type: 'integer' },
                    status: { type: 'integer' },
                    result: { type: 'object', additionalProperties: true },
                    error: { type: 'object', additionalProperties: true },
                  },
                },
              },
            },
          },
          ...errors(400, 401, 413, 500),
        },
      },
    },
    async (request) => {
      const { requests } = request.body as { requests: unknown[] };
      const ctx = callContext(request);
      const results: { index: number; status: number; result?: object; error?: object }[] = [];
      for (const [index, item] of requests.entries()) {
        const operation = (item as { operation?: unknown }).operation;
        try {
          if (typeof operation !== 'string' || !(OPERATIONS as readonly string[]).includes(operation)) {
            throw new CraError('INVALID_REQUEST', `requests/${index}/operation must be resolve, execute or validate`, {
              details: {
                violations: [
                  {
                    code: 'INVALID_REQUEST',
                    path: `/requests/${index}/operation`,
                    message: 'must be resolve, execute or validate',
                  },
                ],
              },
            });
          }
          const result =
            operation === 'resolve'
              ? await cra.resolver.run(ctx, item)
              : operation === 'execute'
                ? await cra.executor.execute(ctx, item)
                : await cra.executor.validate(ctx, item);
          results.push({ index, status: 200, result });
        } catch (err) {
          if (!(err instanceof CraError)) throw err;
          results.push({
            index,
            status: ERROR_CATALOG[err.code].status,
            error: envelope(item, String(request.id), err),
          });
        }
      }
      const succeeded = results.filter((r) => r.status < 400).length;
      return { total: results.length, succeeded, failed: results.length - succeeded, results };
    },
  );
}

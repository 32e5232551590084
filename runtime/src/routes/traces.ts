import { toJsonl, type Principal } from '@cra/core';
import type { FastifyInstance } from 'fastify';
import type { Cra } from '../domain/cra.js';
import { errors, traceEvent, uuidParam } from './schemas.js';

const verifySchema = {
  type: 'object',
  required: ['session_id', 'valid', 'event_count'],
  properties: {
    session_id: { type: 'string' },
    valid: { type: 'boolean' },
    event_count: { type: 'integer' },
    first_failure: {
      type: 'object',
      properties: { index: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' } },
    },
    head: { type: 'object', properties: { sequence: { type: 'integer' }, event_hash: { type: 'string' } } },
    checkpoints: {
      type: 'object',
      description: 'Present when the runtime signs checkpoints: every signed head must still be in the chain',
      properties: {
        valid: { type: 'boolean' },
        checkpoints: { type: 'integer' },
        heads_checked: { type: 'integer' },
        failures: { type: 'array', items: { type: 'object', additionalProperties: true } },
      },
    },
  },
} as const;

export function traceRoutes(app: FastifyInstance, cra: Cra): void {
  app.get(
    '/v1/traces/:session_id',
    {
      schema: {
        tags: ['traces'],
        summary: 'Events of a session; JSONL export with format=jsonl or Accept: application/x-ndjson',
        params: uuidParam('session_id'),
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            from_sequence: { type: 'integer', minimum: 0 },
            limit: { type: 'integer', minimum: 1, maximum: 10_000 },
            event_type: { type: 'array', items: { type: 'string', maxLength: 128 }, maxItems: 64 },
            format: { type: 'string', enum: ['json', 'jsonl'] },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['session_id', 'events'],
            properties: {
              session_id: { type: 'string' },
              events: { type: 'array', items: traceEvent },
              next_sequence: { type: 'integer' },
            },
          },
          ...errors(400, 401, 403, 404),
        },
      },
    },
    async (request, reply) => {
      const { session_id } = request.params as { session_id: string };
      const q = request.query as { from_sequence?: number; limit?: number; event_type?: string[]; format?: string };
      const events = await cra.traces.events(request.principal, session_id, {
        ...(q.from_sequence !== undefined ? { fromSequence: q.from_sequence } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
        ...(q.event_type ? { eventTypes: q.event_type } : {}),
      });
      const wantsJsonl =
        q.format === 'jsonl' ||
        (q.format === undefined && /application\/x-ndjson|jsonl/.test(request.headers.accept ?? ''));
      if (wantsJsonl) {
        return reply
          .type('application/x-ndjson; charset=utf-8')
          .header('content-disposition', `attachment; filename="${session_id}.trace.jsonl"`)
          .serializer((payload: string) => payload)
          .send(toJsonl(events));
      }
      const last = events.at(-1);
      return { session_id, events, ...(last ? { next_sequence: last.sequence + 1 } : {}) };
    },
  );

  const verify = {
    schema: {
      tags: ['traces'],
      summary: 'Recompute and check the chain; reports the first failure',
      params: uuidParam('session_id'),
      response: { 200: verifySchema, ...errors(400, 401, 403, 404) },
    },
  };
  const handler = async (request: { principal: Principal; params: unknown }) =>
    cra.traces.verify(request.principal, (request.params as { session_id: string }).session_id);
  app.get('/v1/traces/:session_id/verify', verify, handler);
  app.post('/v1/traces/:session_id/verify', verify, handler);
}

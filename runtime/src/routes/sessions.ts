import type { FastifyInstance } from 'fastify';
import type { Cra } from '../domain/cra.js';
import { operationSpan } from '../domain/call-context.js';
import { errors, sessionSchema, uuidParam } from './schemas.js';

export function sessionRoutes(app: FastifyInstance, cra: Cra, ids: Parameters<typeof operationSpan>[0]): void {
  app.post(
    '/v1/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Start a session (its TRACE chain begins with session.started)',
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: {
            agent_type: { type: 'string', maxLength: 64 },
            metadata: { type: 'object', maxProperties: 32, additionalProperties: { type: 'string', maxLength: 1024 } },
          },
        },
        response: { 201: sessionSchema, ...errors(400, 401, 500) },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as { agent_type?: string; metadata?: Record<string, string> };
      const traceparent = typeof request.headers.traceparent === 'string' ? request.headers.traceparent : undefined;
      const session = await cra.sessions.start(request.principal, operationSpan(ids, undefined, traceparent), {
        ...(body.agent_type ? { agentType: body.agent_type } : {}),
        ...(body.metadata ? { metadata: body.metadata } : {}),
      });
      return reply.code(201).send(session);
    },
  );

  app.get(
    '/v1/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: 'List sessions, newest first (an agent sees its own; admins and auditors see all)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: ['active', 'ended', 'error'] },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            offset: { type: 'integer', minimum: 0, default: 0 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['sessions'],
            properties: {
              sessions: { type: 'array', items: sessionSchema },
              next_offset: {
                type: 'integer',
                description: 'Present when there are more sessions: the offset of the next page',
              },
            },
          },
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      const q = request.query as { status?: string; limit: number; offset: number };
      // Newest first; one more than asked tells whether another page follows.
      const page = await cra.sessions.list(request.principal, { ...q, limit: q.limit + 1 });
      const more = page.length > q.limit;
      return { sessions: more ? page.slice(0, q.limit) : page, ...(more ? { next_offset: q.offset + q.limit } : {}) };
    },
  );

  app.get(
    '/v1/sessions/:session_id',
    {
      schema: {
        tags: ['sessions'],
        params: uuidParam('session_id'),
        response: { 200: sessionSchema, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => cra.sessions.get(request.principal, (request.params as { session_id: string }).session_id),
  );

  app.delete(
    '/v1/sessions/:session_id',
    {
      schema: {
        tags: ['sessions'],
        summary: 'End a session (session.ended closes its chain for new operations)',
        params: uuidParam('session_id'),
        response: { 200: sessionSchema, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (request) => {
      const traceparent = typeof request.headers.traceparent === 'string' ? request.headers.traceparent : undefined;
      return cra.sessions.end(
        request.principal,
        operationSpan(ids, undefined, traceparent),
        (request.params as { session_id: string }).session_id,
      );
    },
  );
}

import { CraError } from '@cra/core';
import type { FastifyInstance } from 'fastify';
import type { ApprovalView } from '../domain/approvals.js';
import type { Cra } from '../domain/cra.js';
import { APPROVAL_STATUSES } from '../store/ports.js';
import { errors, executionResponse, uuidParam } from './schemas.js';

const approvalSchema = {
  type: 'object',
  required: [
    'approval_id',
    'status',
    'resolution_id',
    'execution_id',
    'agent_id',
    'session_id',
    'action_type',
    'approvers',
    'created_at',
    'expires_at',
  ],
  properties: {
    approval_id: { type: 'string' },
    status: { type: 'string', enum: APPROVAL_STATUSES },
    resolution_id: { type: 'string' },
    execution_id: { type: 'string' },
    agent_id: { type: 'string' },
    session_id: { type: 'string' },
    action_type: { type: 'string' },
    action_id: { type: 'string' },
    approvers: { type: 'array', items: { type: 'string' } },
    parameters: { type: 'object', additionalProperties: true },
    created_at: { type: 'string' },
    expires_at: { type: 'string' },
    decided_by: { type: 'string' },
    decided_at: { type: 'string' },
    reason: { type: 'string' },
    result: executionResponse,
  },
} as const;

/** The wire view: the stored request is summarised by its parameters. */
function view(a: ApprovalView) {
  const { request, trace_id: _t, ...rest } = a;
  return { ...rest, parameters: request.action.parameters ?? {} };
}

const decideBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 1024 } },
} as const;

export function approvalRoutes(app: FastifyInstance, cra: Cra): void {
  app.get(
    '/v1/approvals',
    {
      schema: {
        tags: ['approvals'],
        summary: 'Approvals visible to the caller (approvers, admins and auditors see all)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            status: { type: 'string', enum: APPROVAL_STATUSES },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['approvals'],
            properties: { approvals: { type: 'array', items: approvalSchema } },
          },
          ...errors(400, 401),
        },
      },
    },
    async (request) => {
      const q = request.query as { status?: (typeof APPROVAL_STATUSES)[number]; limit: number };
      const list = await cra.approvals.list(request.principal, q);
      return { approvals: list.map(view) };
    },
  );

  app.get(
    '/v1/approvals/:approval_id',
    {
      schema: {
        tags: ['approvals'],
        params: uuidParam('approval_id'),
        response: { 200: approvalSchema, ...errors(400, 401, 404) },
      },
    },
    async (request) =>
      view(await cra.approvals.get(request.principal, (request.params as { approval_id: string }).approval_id)),
  );

  for (const decision of ['approve', 'deny'] as const) {
    app.post(
      `/v1/approvals/:approval_id/${decision}`,
      {
        schema: {
          tags: ['approvals'],
          summary:
            decision === 'approve' ? 'Approve: the held execution runs now' : 'Deny: the held execution is refused',
          params: uuidParam('approval_id'),
          body: decideBody,
          response: { 200: approvalSchema, ...errors(400, 401, 403, 404, 409) },
        },
      },
      async (request) => {
        const id = (request.params as { approval_id: string }).approval_id;
        const reason = (request.body as { reason?: string } | null)?.reason;
        const result =
          decision === 'approve'
            ? await cra.approvals.approve(request.principal, id, reason)
            : await cra.approvals.deny(request.principal, id, reason);
        return view(result);
      },
    );
  }

  app.get(
    '/v1/executions/:execution_id',
    {
      schema: {
        tags: ['carp'],
        summary: 'The result of an execution (e.g. one that waited for approval)',
        params: uuidParam('execution_id'),
        response: { 200: executionResponse, ...errors(400, 401, 404) },
      },
    },
    async (request) => {
      const id = (request.params as { execution_id: string }).execution_id;
      const stored = await cra.stores.executions.get(id);
      const p = request.principal;
      if (!stored || (stored.agent_id !== p.agentId && !p.roles.includes('admin') && !p.roles.includes('auditor'))) {
        throw new CraError('NOT_FOUND', `execution ${id} does not exist`);
      }
      return stored.result;
    },
  );
}

/** Route-level schemas shared by the HTTP routes (OpenAPI is generated from them). */
import {
  carpErrorSchema,
  carpExecutionResultSchema,
  carpRequestSchema,
  carpResolutionSchema,
  carpValidationResultSchema,
  traceEventSchema,
  UUID_V7_PATTERN,
} from '@cra/core';

const strip = <T extends Record<string, unknown>>(schema: T): Omit<T, '$id'> => {
  const { $id: _id, ...rest } = schema;
  return rest;
};

export const errorResponse = strip(carpErrorSchema);
export const requestBody = strip(carpRequestSchema);
export const resolutionResponse = strip(carpResolutionSchema);
export const executionResponse = strip(carpExecutionResultSchema);
export const validationResponse = strip(carpValidationResultSchema);
export const traceEvent = strip(traceEventSchema);

export const errors = (...statuses: number[]): Record<number, unknown> =>
  Object.fromEntries(statuses.map((s) => [s, { description: 'CARPError', ...errorResponse }]));

export const uuidParam = (name: string) =>
  ({
    type: 'object',
    required: [name],
    additionalProperties: false,
    properties: { [name]: { type: 'string', pattern: UUID_V7_PATTERN } },
  }) as const;

export const sessionSchema = {
  type: 'object',
  required: ['session_id', 'agent_id', 'status', 'started_at', 'event_count'],
  properties: {
    session_id: { type: 'string' },
    agent_id: { type: 'string' },
    agent_type: { type: 'string' },
    status: { type: 'string', enum: ['active', 'ended', 'error'] },
    metadata: { type: 'object', additionalProperties: { type: 'string' } },
    started_at: { type: 'string' },
    ended_at: { type: 'string' },
    event_count: { type: 'integer' },
    head: {
      type: 'object',
      properties: { sequence: { type: 'integer' }, event_hash: { type: 'string' } },
    },
  },
} as const;

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

/**
 * Shared schemas, registered once with `app.addSchema` and referenced by name, so the OpenAPI
 * document lists each under components/schemas instead of repeating it on every route.
 */
export const SHARED_SCHEMAS = {
  CARPError: strip(carpErrorSchema),
  CARPRequest: strip(carpRequestSchema),
  CARPResolution: strip(carpResolutionSchema),
  CARPExecutionResult: strip(carpExecutionResultSchema),
  CARPValidationResult: strip(carpValidationResultSchema),
  TraceEvent: strip(traceEventSchema),
} as const;

const ref = (name: keyof typeof SHARED_SCHEMAS) => ({ $ref: `${name}#` }) as const;

export const errorResponse = ref('CARPError');
export const requestBody = ref('CARPRequest');
export const resolutionResponse = ref('CARPResolution');
export const executionResponse = ref('CARPExecutionResult');
export const validationResponse = ref('CARPValidationResult');
export const traceEvent = ref('TraceEvent');

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

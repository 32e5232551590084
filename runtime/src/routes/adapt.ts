/**
 * Platform adapters over HTTP (CRA-SPEC §8):
 * - `POST /v1/adapt/{openai|anthropic|mcp}`: tools, tool choice and system prompt/instructions
 *   for one of the caller's resolutions, with the tool-name → grant index;
 * - `POST /v1/adapt/{platform}/calls`: the tool calls the model made, as the platform sent them;
 *   each runs through CARP execute and comes back as the platform's tool result.
 */
import {
  CraError,
  OPENAI_FORMATS,
  PLATFORMS,
  parsePlatformCalls,
  renderPlatformResults,
  type Clock,
  type IdSource,
  type OpenAIFormat,
  type Platform,
  type ToolChoice,
} from '@cra/core';
import type { FastifyInstance } from 'fastify';
import { ToolCallBridge } from '../adapters/tool-call-bridge.js';
import { ToolGenerator } from '../adapters/tool-generator.js';
import type { Cra } from '../domain/cra.js';
import { callContext } from './carp.js';
import { errors } from './schemas.js';

export const MAX_TOOL_CALLS = 128;

const platformParam = {
  type: 'object',
  required: ['platform'],
  additionalProperties: false,
  properties: { platform: { type: 'string', enum: [...PLATFORMS] } },
} as const;

const resolutionId = { type: 'string', minLength: 1, maxLength: 128 } as const;
const format = {
  type: 'string',
  enum: [...OPENAI_FORMATS],
  description: 'OpenAI only: Chat Completions (`chat`, default) or Responses (`responses`) shapes',
} as const;

const toolChoice = {
  description: '`auto`, `required`, `none`, or `{name}` to force one tool; mapped to the platform shape',
  anyOf: [
    { type: 'string', enum: ['auto', 'required', 'none'] },
    {
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: { name: { type: 'string', minLength: 1, maxLength: 128 } },
    },
  ],
} as const;

const anyObject = { type: 'object', additionalProperties: true } as const;

const toolNameEntry = {
  type: 'object',
  required: ['action_id', 'action_type', 'atlas_action_id', 'atlas_ref', 'risk_tier', 'requires_approval'],
  properties: {
    action_id: { type: 'string' },
    action_type: { type: 'string' },
    atlas_action_id: { type: 'string' },
    atlas_ref: { type: 'string' },
    risk_tier: { type: 'string' },
    requires_approval: { type: 'boolean' },
  },
} as const;

const adaptResponse = {
  type: 'object',
  required: ['platform', 'resolution_id', 'tools', 'tool_names', 'decision', 'expires_at'],
  properties: {
    platform: { type: 'string' },
    resolution_id: { type: 'string' },
    format: { type: 'string' },
    instructions: {
      type: 'string',
      description: 'OpenAI system/developer message or Responses `instructions`; MCP server instructions',
    },
    system: { type: 'string', description: 'Anthropic `system`' },
    tools: { type: 'array', items: anyObject, description: 'Tool definitions in the platform shape' },
    tool_choice: { description: 'The platform shape of the requested tool choice' },
    tool_names: {
      type: 'object',
      additionalProperties: toolNameEntry,
      description: 'Tool name → the grant it stands for',
    },
    decision: { type: 'string' },
    expires_at: { type: 'string' },
  },
} as const;

const outcome = {
  type: 'object',
  required: ['call_id', 'name', 'status', 'is_error', 'content'],
  properties: {
    call_id: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string', enum: ['success', 'pending_approval', 'failed', 'timeout', 'denied'] },
    is_error: { type: 'boolean' },
    content: { type: 'string' },
    action_id: { type: 'string' },
    action_type: { type: 'string' },
    execution_id: { type: 'string' },
    approval_id: { type: 'string' },
    error: anyObject,
  },
} as const;

const callsResponse = {
  type: 'object',
  required: ['platform', 'resolution_id', 'results', 'outcomes'],
  properties: {
    platform: { type: 'string' },
    resolution_id: { type: 'string' },
    format: { type: 'string' },
    results: { type: 'array', items: anyObject, description: 'Tool results in the platform shape, in call order' },
    outcomes: { type: 'array', items: outcome },
  },
} as const;

export function adaptRoutes(app: FastifyInstance, cra: Cra, ids: IdSource, clock: Clock): void {
  const generator = new ToolGenerator(cra, ids, clock);
  const bridge = new ToolCallBridge({ cra, ids, clock });

  app.post(
    '/v1/adapt/:platform',
    {
      schema: {
        tags: ['adapters'],
        summary: 'Tools and system prompt of a resolution for OpenAI, Anthropic or MCP',
        params: platformParam,
        body: {
          type: 'object',
          required: ['resolution_id'],
          additionalProperties: false,
          properties: { resolution_id: resolutionId, format, tool_choice: toolChoice },
        },
        response: { 200: adaptResponse, ...errors(400, 401, 403, 404, 409, 410, 429, 500, 503) },
      },
    },
    async (request) => {
      const { platform } = request.params as { platform: Platform };
      const body = request.body as { resolution_id: string; format?: OpenAIFormat; tool_choice?: ToolChoice };
      return generator.adapt(callContext(request), platform, body);
    },
  );

  app.post(
    '/v1/adapt/:platform/calls',
    {
      schema: {
        tags: ['adapters'],
        summary: 'Run the tool calls a model made through CARP execute; tool results in the platform shape',
        params: platformParam,
        body: {
          type: 'object',
          required: ['resolution_id', 'calls'],
          additionalProperties: false,
          properties: {
            resolution_id: resolutionId,
            format,
            calls: {
              type: 'array',
              maxItems: MAX_TOOL_CALLS,
              items: anyObject,
              description:
                'openai chat: the assistant message `tool_calls`; openai responses: the response `output` items; anthropic: the assistant message `content` blocks; mcp: `tools/call` params {name, arguments}',
            },
          },
        },
        response: { 200: callsResponse, ...errors(400, 401, 403, 404, 409, 429, 500, 503) },
      },
    },
    async (request) => {
      const { platform } = request.params as { platform: Platform };
      const body = request.body as { resolution_id: string; format?: OpenAIFormat; calls: unknown[] };
      if (body.format !== undefined && platform !== 'openai') {
        throw new CraError('INVALID_REQUEST', `format applies to openai only, not ${platform}`, {
          details: { violations: [{ code: 'INVALID_REQUEST', path: '/format', message: 'applies to openai only' }] },
        });
      }
      const fmt: OpenAIFormat = body.format ?? 'chat';
      const outcomes = await bridge.run(
        callContext(request),
        platform,
        body.resolution_id,
        parsePlatformCalls(platform, fmt, body.calls),
      );
      return {
        platform,
        resolution_id: body.resolution_id,
        ...(platform === 'openai' ? { format: fmt } : {}),
        results: renderPlatformResults(platform, fmt, outcomes),
        outcomes,
      };
    },
  );
}

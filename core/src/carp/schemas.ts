/**
 * JSON Schemas (2020-12) of the CARP messages (CRA-SPEC §2). These are the contract: the runtime
 * validates requests with them, the OpenAPI document is generated from them, the CLI and MCP
 * surfaces reuse the same compiled validators.
 */
import { SPAN_ID_PATTERN, TRACE_ID_PATTERN, UUID_V7_PATTERN } from '../ids.js';
import {
  CONSTRAINT_TYPES,
  CONTENT_TYPES,
  DECISION_TYPES,
  EVIDENCE_TYPES,
  EXECUTION_STATUSES,
  OPERATIONS,
  PARAMETER_CONSTRAINT_TYPES,
  RATE_LIMIT_SCOPES,
  RISK_TIERS,
  VALIDATION_DECISIONS,
} from './types.js';

const uuid7 = { type: 'string', pattern: UUID_V7_PATTERN, description: 'UUIDv7 (RFC 9562)' } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const sha256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const riskTier = { type: 'string', enum: RISK_TIERS } as const;
const stringList = (maxItems: number, maxLength = 256) =>
  ({ type: 'array', maxItems, items: { type: 'string', minLength: 1, maxLength } }) as const;
const freeObject = { type: 'object', additionalProperties: true } as const;

export const agentIdSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 253,
  pattern: '^[A-Za-z0-9]([A-Za-z0-9._:@-]*[A-Za-z0-9])?$',
} as const;

export const requesterSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['agent_id', 'session_id'],
  properties: {
    agent_id: agentIdSchema,
    agent_type: { type: 'string', maxLength: 64 },
    session_id: uuid7,
    metadata: {
      type: 'object',
      maxProperties: 32,
      additionalProperties: { type: 'string', maxLength: 1024 },
    },
    auth_token: { type: 'string', description: 'Accepted for v0.1 compatibility and never read.' },
  },
} as const;

export const taskSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['goal'],
  properties: {
    goal: { type: 'string', minLength: 1, maxLength: 4096 },
    goal_hash: sha256,
    risk_tier: riskTier,
    context_hints: stringList(32, 128),
    constraints: {
      type: 'array',
      maxItems: 32,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['type', 'value'],
        properties: { type: { type: 'string', maxLength: 64 }, value: {} },
      },
    },
    parent_task_id: { type: 'string', maxLength: 128 },
  },
} as const;

export const scopeSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    atlases: stringList(64),
    domains: stringList(64, 128),
    actions: stringList(256, 128),
    max_context_tokens: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    max_actions: { type: 'integer', minimum: 0, maximum: 500 },
  },
} as const;

export const requestTelemetrySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    trace_id: { type: 'string', pattern: TRACE_ID_PATTERN },
    parent_span_id: { type: 'string', pattern: SPAN_ID_PATTERN },
    sampling_rate: { type: 'number', minimum: 0, maximum: 1 },
  },
} as const;

export const actionCallSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['action_id', 'action_type', 'resolution_id'],
  properties: {
    action_id: uuid7,
    action_type: { type: 'string', minLength: 1, maxLength: 128 },
    parameters: { type: 'object', additionalProperties: true },
    resolution_id: uuid7,
  },
} as const;

export const carpRequestSchema = {
  $id: 'https://cra.dev/schemas/carp/request.json',
  title: 'CARPRequest',
  type: 'object',
  additionalProperties: false,
  required: ['carp_version', 'request_id', 'timestamp', 'operation', 'requester'],
  properties: {
    carp_version: { type: 'string', const: '1.0' },
    request_id: uuid7,
    timestamp: dateTime,
    operation: { type: 'string', enum: OPERATIONS },
    requester: requesterSchema,
    task: taskSchema,
    action: actionCallSchema,
    scope: scopeSchema,
    telemetry: requestTelemetrySchema,
    idempotency_key: { type: 'string', minLength: 1, maxLength: 255 },
    execution_options: {
      type: 'object',
      additionalProperties: false,
      properties: {
        timeout_ms: { type: 'integer', minimum: 1, maximum: 300_000 },
        dry_run: { type: 'boolean' },
      },
    },
  },
  allOf: [
    { if: { properties: { operation: { const: 'resolve' } } }, then: { required: ['task'] } },
    { if: { properties: { operation: { enum: ['execute', 'validate'] } } }, then: { required: ['action'] } },
  ],
} as const;

// ---------------------------------------------------------------------------------------------
// Replies (documented in OpenAPI and used for serialisation)

const telemetryLinkSchema = {
  type: 'object',
  required: ['trace_id', 'span_id', 'events_emitted'],
  properties: {
    trace_id: { type: 'string' },
    span_id: { type: 'string' },
    events_emitted: { type: 'integer' },
  },
} as const;

const constraintSchema = {
  type: 'object',
  required: ['id', 'type', 'description', 'params', 'enforcement'],
  properties: {
    id: { type: 'string' },
    type: { type: 'string', enum: CONSTRAINT_TYPES },
    description: { type: 'string' },
    params: freeObject,
    enforcement: { type: 'string', enum: ['hard', 'soft'] },
  },
} as const;

const parameterConstraintSchema = {
  type: 'object',
  required: ['parameter', 'constraint_type'],
  properties: {
    parameter: { type: 'string' },
    constraint_type: { type: 'string', enum: PARAMETER_CONSTRAINT_TYPES },
    value: {},
    message: { type: 'string' },
  },
} as const;

const rateLimitSchema = {
  type: 'object',
  required: ['requests', 'window_seconds', 'scope'],
  properties: {
    requests: { type: 'integer' },
    window_seconds: { type: 'integer' },
    scope: { type: 'string', enum: RATE_LIMIT_SCOPES },
  },
} as const;

export const decisionSchema = {
  type: 'object',
  required: ['type'],
  properties: {
    type: { type: 'string', enum: DECISION_TYPES },
    constraints: { type: 'array', items: constraintSchema },
    reason: { type: 'string' },
    policy_refs: { type: 'array', items: { type: 'string' } },
    remediation: { type: 'string' },
    approvers: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'type'],
        properties: {
          id: { type: 'string' },
          type: { type: 'string', enum: ['user', 'role', 'system'] },
          name: { type: 'string' },
        },
      },
    },
    approval_timeout_seconds: { type: 'integer' },
    approval_url: { type: 'string' },
    missing_domains: { type: 'array', items: { type: 'string' } },
    missing_atlases: { type: 'array', items: { type: 'string' } },
    suggestion: { type: 'string' },
    allowed_subset: { type: 'array', items: { type: 'string' } },
    denied_subset: { type: 'array', items: { type: 'string' } },
  },
} as const;

export const contextBlockSchema = {
  type: 'object',
  required: [
    'block_id',
    'content_hash',
    'atlas_ref',
    'pack_ref',
    'domain',
    'content_type',
    'content',
    'token_count',
    'ttl_seconds',
    'evidence_refs',
    'tags',
    'priority',
  ],
  properties: {
    block_id: { type: 'string' },
    content_hash: sha256,
    atlas_ref: { type: 'string' },
    pack_ref: { type: 'string' },
    domain: { type: 'string' },
    content_type: { type: 'string', enum: CONTENT_TYPES },
    content: { type: 'string' },
    token_count: { type: 'integer' },
    ttl_seconds: { type: 'integer' },
    evidence_refs: { type: 'array', items: { type: 'string' } },
    tags: { type: 'array', items: { type: 'string' } },
    priority: { type: 'number' },
    redactions: {
      type: 'array',
      items: {
        type: 'object',
        properties: { rule: { type: 'string' }, path: { type: 'string' }, mode: { type: 'string' } },
      },
    },
  },
} as const;

export const actionPermissionSchema = {
  type: 'object',
  required: [
    'action_id',
    'atlas_action_id',
    'action_type',
    'name',
    'description',
    'schema',
    'constraints',
    'requires_approval',
    'risk_tier',
    'atlas_ref',
    'domain',
    'evidence_refs',
    'valid_until',
  ],
  properties: {
    action_id: { type: 'string' },
    atlas_action_id: { type: 'string' },
    action_type: { type: 'string' },
    name: { type: 'string' },
    description: { type: 'string' },
    schema: freeObject,
    examples: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          description: { type: 'string' },
          parameters: freeObject,
          expected_outcome: { type: 'string' },
        },
      },
    },
    constraints: { type: 'array', items: constraintSchema },
    parameter_constraints: { type: 'array', items: parameterConstraintSchema },
    requires_approval: { type: 'boolean' },
    approval_type: { type: 'string', enum: ['sync', 'async'] },
    risk_tier: riskTier,
    rate_limit: rateLimitSchema,
    atlas_ref: { type: 'string' },
    domain: { type: 'string' },
    evidence_refs: { type: 'array', items: { type: 'string' } },
    valid_until: { type: 'string' },
  },
} as const;

export const actionDenialSchema = {
  type: 'object',
  required: ['action_type', 'atlas_action_id', 'atlas_ref', 'reason', 'policy_refs', 'permanent'],
  properties: {
    action_type: { type: 'string' },
    atlas_action_id: { type: 'string' },
    atlas_ref: { type: 'string' },
    reason: { type: 'string' },
    policy_refs: { type: 'array', items: { type: 'string' } },
    permanent: { type: 'boolean' },
    remediation: { type: 'string' },
  },
} as const;

export const evidenceSchema = {
  type: 'object',
  required: ['evidence_id', 'type', 'source', 'content_hash', 'created_at', 'verified'],
  properties: {
    evidence_id: { type: 'string' },
    type: { type: 'string', enum: EVIDENCE_TYPES },
    source: { type: 'string' },
    source_url: { type: 'string' },
    atlas_ref: { type: 'string' },
    content_hash: { type: 'string' },
    content_preview: { type: 'string' },
    created_at: { type: 'string' },
    verified: { type: 'boolean' },
    verification_method: { type: 'string' },
  },
} as const;

export const policyApplicationSchema = {
  type: 'object',
  required: ['policy_id', 'policy_name', 'policy_version', 'rules_evaluated', 'rules_matched', 'effects'],
  properties: {
    policy_id: { type: 'string' },
    policy_name: { type: 'string' },
    policy_version: { type: 'string' },
    atlas_ref: { type: 'string' },
    rules_evaluated: { type: 'integer' },
    rules_matched: { type: 'integer' },
    effects: {
      type: 'array',
      items: {
        type: 'object',
        required: ['rule_id', 'effect', 'target'],
        properties: {
          rule_id: { type: 'string' },
          effect: { type: 'string' },
          target: { type: 'string' },
          reason: { type: 'string' },
        },
      },
    },
    evaluation_time_ms: { type: 'number' },
  },
} as const;

export const carpResolutionSchema = {
  $id: 'https://cra.dev/schemas/carp/resolution.json',
  title: 'CARPResolution',
  type: 'object',
  required: [
    'carp_version',
    'request_id',
    'resolution_id',
    'session_id',
    'timestamp',
    'bundle_version',
    'decision',
    'context_blocks',
    'allowed_actions',
    'denied_actions',
    'policies_applied',
    'evidence',
    'ttl',
    'telemetry_link',
  ],
  properties: {
    carp_version: { type: 'string', const: '1.0' },
    request_id: { type: 'string' },
    resolution_id: { type: 'string' },
    session_id: { type: 'string' },
    timestamp: { type: 'string' },
    bundle_version: { type: 'string' },
    decision: decisionSchema,
    context_blocks: { type: 'array', items: contextBlockSchema },
    allowed_actions: { type: 'array', items: actionPermissionSchema },
    denied_actions: { type: 'array', items: actionDenialSchema },
    policies_applied: { type: 'array', items: policyApplicationSchema },
    evidence: { type: 'array', items: evidenceSchema },
    ttl: {
      type: 'object',
      required: ['context_expires_at', 'resolution_expires_at', 'refresh_hint_seconds'],
      properties: {
        context_expires_at: { type: 'string' },
        resolution_expires_at: { type: 'string' },
        refresh_hint_seconds: { type: 'integer' },
      },
    },
    telemetry_link: telemetryLinkSchema,
    warnings: {
      type: 'array',
      items: {
        type: 'object',
        required: ['code', 'message'],
        properties: { code: { type: 'string' }, message: { type: 'string' }, details: freeObject },
      },
    },
  },
} as const;

export const carpExecutionResultSchema = {
  $id: 'https://cra.dev/schemas/carp/execution-result.json',
  title: 'CARPExecutionResult',
  type: 'object',
  required: [
    'carp_version',
    'request_id',
    'execution_id',
    'resolution_id',
    'action_id',
    'timestamp',
    'status',
    'metrics',
    'telemetry_link',
  ],
  properties: {
    carp_version: { type: 'string', const: '1.0' },
    request_id: { type: 'string' },
    execution_id: { type: 'string' },
    resolution_id: { type: 'string' },
    action_id: { type: 'string' },
    timestamp: { type: 'string' },
    status: { type: 'string', enum: EXECUTION_STATUSES },
    approval_id: { type: 'string' },
    result: {
      type: 'object',
      required: ['output', 'output_hash', 'output_type'],
      properties: { output: {}, output_hash: sha256, output_type: { type: 'string' } },
    },
    error: {
      type: 'object',
      required: ['code', 'message', 'retriable'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: freeObject,
        retriable: { type: 'boolean' },
      },
    },
    metrics: {
      type: 'object',
      required: ['duration_ms'],
      properties: { duration_ms: { type: 'number' }, api_calls: { type: 'integer' } },
    },
    side_effects: {
      type: 'array',
      items: {
        type: 'object',
        required: ['type', 'target', 'reversible'],
        properties: {
          type: { type: 'string' },
          target: { type: 'string' },
          reversible: { type: 'boolean' },
          details: freeObject,
        },
      },
    },
    telemetry_link: telemetryLinkSchema,
  },
} as const;

export const carpValidationResultSchema = {
  $id: 'https://cra.dev/schemas/carp/validation-result.json',
  title: 'CARPValidationResult',
  type: 'object',
  required: ['carp_version', 'request_id', 'timestamp', 'valid', 'decision', 'violations', 'telemetry_link'],
  properties: {
    carp_version: { type: 'string', const: '1.0' },
    request_id: { type: 'string' },
    timestamp: { type: 'string' },
    valid: { type: 'boolean' },
    decision: { type: 'string', enum: VALIDATION_DECISIONS },
    violations: {
      type: 'array',
      items: {
        type: 'object',
        required: ['code', 'path', 'message'],
        properties: { code: { type: 'string' }, path: { type: 'string' }, message: { type: 'string' } },
      },
    },
    telemetry_link: telemetryLinkSchema,
  },
} as const;

export const carpErrorSchema = {
  $id: 'https://cra.dev/schemas/carp/error.json',
  title: 'CARPError',
  type: 'object',
  required: ['carp_version', 'request_id', 'timestamp', 'error', 'retry'],
  properties: {
    carp_version: { type: 'string', const: '1.0' },
    request_id: { type: 'string' },
    timestamp: { type: 'string' },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: freeObject,
        trace_id: { type: 'string' },
      },
    },
    retry: {
      type: 'object',
      required: ['retriable'],
      properties: { retriable: { type: 'boolean' }, retry_after_seconds: { type: 'integer' } },
    },
  },
} as const;

export const traceEventSchema = {
  $id: 'https://cra.dev/schemas/trace/event.json',
  title: 'TraceEvent',
  type: 'object',
  additionalProperties: false,
  required: [
    'trace_version',
    'event_id',
    'trace_id',
    'span_id',
    'session_id',
    'sequence',
    'timestamp',
    'event_type',
    'severity',
    'source',
    'payload',
    'previous_event_hash',
    'event_hash',
  ],
  properties: {
    trace_version: { type: 'string', const: '1.0' },
    event_id: { type: 'string' },
    trace_id: { type: 'string' },
    span_id: { type: 'string' },
    parent_span_id: { type: 'string' },
    session_id: { type: 'string' },
    sequence: { type: 'integer', minimum: 0 },
    timestamp: { type: 'string' },
    event_type: { type: 'string' },
    severity: { type: 'string', enum: ['debug', 'info', 'warn', 'error'] },
    source: {
      type: 'object',
      additionalProperties: false,
      required: ['component', 'version', 'instance_id'],
      properties: {
        component: { type: 'string' },
        version: { type: 'string' },
        instance_id: { type: 'string' },
      },
    },
    payload: freeObject,
    tags: { type: 'object', additionalProperties: { type: 'string' } },
    previous_event_hash: sha256,
    event_hash: sha256,
  },
} as const;

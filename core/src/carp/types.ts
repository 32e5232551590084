/**
 * CARP 1.0 wire types (CRA-SPEC §2). Field names follow v0.1 (snake_case on the wire).
 * The JSON Schemas in `schemas.ts` are the runtime contract; these types mirror them.
 */

export const CARP_VERSION = '1.0' as const;

export const RISK_TIERS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskTier = (typeof RISK_TIERS)[number];

export const OPERATIONS = ['resolve', 'execute', 'validate'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface Requester {
  agent_id: string;
  agent_type?: string;
  session_id: string;
  metadata?: Record<string, string>;
}

export interface TaskConstraint {
  type: string;
  value: unknown;
}

export interface Task {
  goal: string;
  goal_hash?: string;
  risk_tier?: RiskTier;
  context_hints?: string[];
  constraints?: TaskConstraint[];
  parent_task_id?: string;
}

export interface Scope {
  atlases?: string[];
  domains?: string[];
  actions?: string[];
  max_context_tokens?: number;
  max_actions?: number;
}

export interface RequestTelemetry {
  trace_id?: string;
  parent_span_id?: string;
  sampling_rate?: number;
}

export interface ActionCall {
  action_id: string;
  action_type: string;
  parameters: Record<string, unknown>;
  resolution_id: string;
}

export interface ExecutionOptions {
  timeout_ms?: number;
  dry_run?: boolean;
}

export interface CARPRequest {
  carp_version: typeof CARP_VERSION;
  request_id: string;
  timestamp: string;
  operation: Operation;
  requester: Requester;
  task?: Task;
  action?: ActionCall;
  scope?: Scope;
  telemetry?: RequestTelemetry;
  idempotency_key?: string;
  execution_options?: ExecutionOptions;
}

export type ResolveRequest = CARPRequest & { operation: 'resolve'; task: Task };
export type ExecuteRequest = CARPRequest & { operation: 'execute' | 'validate'; action: ActionCall };

// ---------------------------------------------------------------------------------------------
// Resolution

export const CONSTRAINT_TYPES = [
  'rate_limit',
  'time_window',
  'parameter_restriction',
  'output_filter',
  'approval_required',
  'audit_required',
  'sandbox',
  'custom',
] as const;
export type ConstraintType = (typeof CONSTRAINT_TYPES)[number];

export interface Constraint {
  id: string;
  type: ConstraintType;
  description: string;
  params: Record<string, unknown>;
  enforcement: 'hard' | 'soft';
}

export const PARAMETER_CONSTRAINT_TYPES = ['enum', 'range', 'pattern', 'max_length', 'required', 'forbidden'] as const;
export type ParameterConstraintType = (typeof PARAMETER_CONSTRAINT_TYPES)[number];

export interface ParameterConstraint {
  /** JSON Pointer (RFC 6901) into the action parameters. */
  parameter: string;
  constraint_type: ParameterConstraintType;
  value?: unknown;
  message?: string;
}

export interface Approver {
  id: string;
  type: 'user' | 'role' | 'system';
  name?: string;
}

export const RATE_LIMIT_SCOPES = ['action', 'session', 'agent', 'atlas', 'global'] as const;
export type RateLimitScope = (typeof RATE_LIMIT_SCOPES)[number];

export interface RateLimit {
  requests: number;
  window_seconds: number;
  scope: RateLimitScope;
}

export const DECISION_TYPES = [
  'allow',
  'allow_with_constraints',
  'deny',
  'requires_approval',
  'insufficient_context',
  'partial',
] as const;
export type DecisionType = (typeof DECISION_TYPES)[number];

export type Decision =
  | { type: 'allow' }
  | { type: 'allow_with_constraints'; constraints: Constraint[] }
  | { type: 'deny'; reason: string; policy_refs: string[]; remediation?: string }
  | {
      type: 'requires_approval';
      approvers: Approver[];
      approval_timeout_seconds: number;
      approval_url?: string;
    }
  | {
      type: 'insufficient_context';
      missing_domains: string[];
      missing_atlases?: string[];
      suggestion?: string;
    }
  | { type: 'partial'; reason: string; allowed_subset: string[]; denied_subset: string[] };

export const CONTENT_TYPES = ['markdown', 'json', 'yaml', 'text'] as const;
export type ContentType = (typeof CONTENT_TYPES)[number];

export interface RedactionRecord {
  rule: string;
  path: string;
  mode: string;
}

export interface ContextBlock {
  block_id: string;
  content_hash: string;
  atlas_ref: string;
  pack_ref: string;
  domain: string;
  content_type: ContentType;
  content: string;
  token_count: number;
  ttl_seconds: number;
  evidence_refs: string[];
  tags: string[];
  priority: number;
  redactions?: RedactionRecord[];
}

export interface ActionExample {
  description: string;
  parameters: Record<string, unknown>;
  expected_outcome?: string;
}

export interface ActionPermission {
  /** Fresh UUIDv7 grant id, unique to this resolution. */
  action_id: string;
  /** The atlas action's own id (stable across resolutions). */
  atlas_action_id: string;
  action_type: string;
  name: string;
  description: string;
  schema: Record<string, unknown>;
  examples?: ActionExample[];
  constraints: Constraint[];
  parameter_constraints?: ParameterConstraint[];
  requires_approval: boolean;
  approval_type?: 'sync' | 'async';
  risk_tier: RiskTier;
  rate_limit?: RateLimit;
  atlas_ref: string;
  domain: string;
  evidence_refs: string[];
  valid_until: string;
}

export interface ActionDenial {
  action_type: string;
  atlas_action_id: string;
  atlas_ref: string;
  reason: string;
  policy_refs: string[];
  permanent: boolean;
  remediation?: string;
}

export const EVIDENCE_TYPES = [
  'documentation',
  'api_spec',
  'example',
  'test_result',
  'policy',
  'changelog',
  'external',
  'user_provided',
] as const;
export type EvidenceType = (typeof EVIDENCE_TYPES)[number];

export interface Evidence {
  evidence_id: string;
  type: EvidenceType;
  source: string;
  source_url?: string;
  atlas_ref?: string;
  content_hash: string;
  content_preview?: string;
  created_at: string;
  verified: boolean;
  verification_method?: string;
}

export interface PolicyEffectRecord {
  rule_id: string;
  effect: string;
  target: string;
  reason?: string;
}

export interface PolicyApplication {
  policy_id: string;
  policy_name: string;
  policy_version: string;
  atlas_ref?: string;
  rules_evaluated: number;
  rules_matched: number;
  effects: PolicyEffectRecord[];
  evaluation_time_ms: number;
}

export interface TelemetryLink {
  trace_id: string;
  span_id: string;
  events_emitted: number;
}

export interface Warning {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

export interface CARPResolution {
  carp_version: typeof CARP_VERSION;
  request_id: string;
  resolution_id: string;
  session_id: string;
  timestamp: string;
  bundle_version: string;
  decision: Decision;
  context_blocks: ContextBlock[];
  allowed_actions: ActionPermission[];
  denied_actions: ActionDenial[];
  policies_applied: PolicyApplication[];
  evidence: Evidence[];
  ttl: { context_expires_at: string; resolution_expires_at: string; refresh_hint_seconds: number };
  telemetry_link: TelemetryLink;
  warnings?: Warning[];
}

// ---------------------------------------------------------------------------------------------
// Execution and validation

export const EXECUTION_STATUSES = [
  'success',
  'partial_success',
  'failed',
  'timeout',
  'cancelled',
  'pending_approval',
  'denied',
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export interface SideEffect {
  type: string;
  target: string;
  reversible: boolean;
  details?: Record<string, unknown>;
}

export interface CARPExecutionResult {
  carp_version: typeof CARP_VERSION;
  request_id: string;
  execution_id: string;
  resolution_id: string;
  action_id: string;
  timestamp: string;
  status: ExecutionStatus;
  approval_id?: string;
  result?: { output: unknown; output_hash: string; output_type: string };
  error?: { code: string; message: string; details?: Record<string, unknown>; retriable: boolean };
  metrics: { duration_ms: number; api_calls?: number };
  side_effects?: SideEffect[];
  telemetry_link: TelemetryLink;
}

export const VALIDATION_DECISIONS = ['allow', 'deny', 'requires_approval', 'rate_limited'] as const;
export type ValidationDecision = (typeof VALIDATION_DECISIONS)[number];

export interface Violation {
  code: string;
  path: string;
  message: string;
}

export interface CARPValidationResult {
  carp_version: typeof CARP_VERSION;
  request_id: string;
  timestamp: string;
  valid: boolean;
  decision: ValidationDecision;
  violations: Violation[];
  telemetry_link: TelemetryLink;
}

// ---------------------------------------------------------------------------------------------
// Errors

export interface CARPError {
  carp_version: typeof CARP_VERSION;
  request_id: string;
  timestamp: string;
  error: { code: string; message: string; details?: Record<string, unknown>; trace_id?: string };
  retry: { retriable: boolean; retry_after_seconds?: number };
}

export function riskRank(tier: RiskTier): number {
  return RISK_TIERS.indexOf(tier);
}

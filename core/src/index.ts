// Public surface of @cra/core. Explicit named exports only; each module owns its section.

// ids, time, hashing
export { randomIds, sequentialIds, systemClock, fixedClock, isUuidV7, isoTime } from './ids.js';
export { UUID_V7_PATTERN, TRACE_ID_PATTERN, SPAN_ID_PATTERN } from './ids.js';
export type { Clock, IdSource } from './ids.js';
export { sha256Hex, hmacSha256Hex, goalHash, estimateTokens } from './hash.js';

// errors
export { CraError, isCraError, ERROR_CATALOG, ERROR_CODES } from './errors.js';
export type { ErrorCode, ErrorSpec } from './errors.js';

// carp
export { CARP_VERSION, RISK_TIERS, OPERATIONS, DECISION_TYPES, RATE_LIMIT_SCOPES, riskRank } from './carp/types.js';
export type {
  ActionCall,
  ActionDenial,
  ActionPermission,
  Approver,
  CARPError,
  CARPExecutionResult,
  CARPRequest,
  CARPResolution,
  CARPValidationResult,
  Constraint,
  ContextBlock,
  Decision,
  DecisionType,
  Evidence,
  ExecuteRequest,
  ExecutionStatus,
  Operation,
  ParameterConstraint,
  PolicyApplication,
  RateLimit,
  RateLimitScope,
  ResolveRequest,
  RiskTier,
  Scope,
  SideEffect,
  Task,
  TelemetryLink,
  ValidationDecision,
  Violation,
  Warning,
} from './carp/types.js';

// trace
export { TRACE_VERSION, GENESIS_HASH, SEVERITIES, CHAIN_ERRORS } from './trace/types.js';
export type { TraceEvent, EventDraft, ChainHead, ChainFailure, ChainErrorType, Severity, TraceSource, VerifyResult } from './trace/types.js';
export { EVENT_TYPES, isKnownEventType } from './trace/event-types.js';
export type { EventType, CatalogEventType } from './trace/event-types.js';
export { canonicalJson } from './trace/canonical.js';
export { computeEventHash, sealEvents, headOf } from './trace/chain.js';
export { verifyChain } from './trace/verify.js';
export type { VerifyOptions } from './trace/verify.js';

// atlas
export { LICENSE_TYPES, PLATFORMS, DEFAULT_NAMESPACE, atlasRef } from './atlas/types.js';
export type {
  AtlasAction,
  AtlasDependency,
  AtlasSpec,
  ContextPack,
  Domain,
  Executor,
  HttpExecutor,
  License,
  LoadedAtlas,
  LocalAtlasManifest,
  McpExecutor,
  Platform,
  ToolMappings,
  ValueSource,
} from './atlas/types.js';

// policy
export { EFFECTS, REDACTION_MODES, WEEKDAYS } from './policy/types.js';
export type {
  Condition,
  Effect,
  EvaluationFacts,
  Match,
  PolicyOutcome,
  PolicyRule,
  RedactionMode,
  RedactionRule,
  RuleMatch,
  RuleSource,
  Truth,
} from './policy/types.js';

// bundle
export { ROLES } from './bundle/types.js';
export type {
  AgentIdentitySpec,
  CompiledIdentity,
  CompiledPolicy,
  LabelSelector,
  PolicySpec,
  Role,
  RuntimeBundle,
} from './bundle/types.js';

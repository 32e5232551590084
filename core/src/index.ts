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
export type {
  TraceEvent,
  EventDraft,
  ChainHead,
  ChainFailure,
  ChainErrorType,
  Severity,
  TraceSource,
  VerifyResult,
} from './trace/types.js';
export { EVENT_TYPES, isKnownEventType } from './trace/event-types.js';
export type { EventType, CatalogEventType } from './trace/event-types.js';
export { canonicalJson } from './trace/canonical.js';
export { computeEventHash, sealEvents, headOf } from './trace/chain.js';
export { verifyChain } from './trace/verify.js';
export type { VerifyOptions } from './trace/verify.js';
export { toJsonl, parseJsonl } from './trace/jsonl.js';
export { filterEvents, compileEventFilter, eventTypeMatcher } from './trace/filter.js';
export type { EventFilter, EventPredicate } from './trace/filter.js';
export { diffTraces, compileVolatileMatcher, DEFAULT_VOLATILE, DECISION_SIGNIFICANT_KEYS } from './trace/diff.js';
export type {
  Compatibility,
  DiffableEvent,
  DiffOptions,
  DifferenceKind,
  DifferenceSeverity,
  TraceDiff,
  TraceDiffSummary,
  TraceDifference,
  VolatileMatcher,
} from './trace/diff.js';
export {
  normalizeForGolden,
  compareWithGolden,
  goldenFingerprint,
  serializeGolden,
  parseGolden,
} from './trace/golden.js';
export type { GoldenEvent, GoldenCompareOptions, GoldenComparison } from './trace/golden.js';

// redaction
export {
  DETECTOR_NAMES,
  DETECTORS,
  REDACTED_MARKER,
  compileScanner,
  detectorRegExp,
  isDetectorName,
  isIpv4,
  isIpv6,
  luhnValid,
} from './redaction/detectors.js';
export type { Detector, DetectorName, Scanner, ScanResult } from './redaction/detectors.js';
export { compilePathPattern, formatPath } from './redaction/paths.js';
export type { PathMatcher } from './redaction/paths.js';
export { createRedactor, DEFAULT_SENSITIVE_KEYS, SENSITIVE_KEY_RULE } from './redaction/engine.js';
export type { RedactionRecord, RedactionResult, Redactor, RedactorConfig } from './redaction/engine.js';

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
export {
  atlasSpecSchema,
  localAtlasManifestSchema,
  loadedAtlasSchema,
  loadedAtlasSpecSchema,
  ACTION_TYPE_PATTERN,
} from './atlas/schema.js';
export {
  validateAtlasSpec,
  validateLocalManifest,
  validateLoadedAtlas,
  compileActionSchema,
  createActionSchemaAjv,
  urlPlaceholders,
  TOOL_NAME_PATTERNS,
} from './atlas/validate.js';
export { parseAtlasManifest, requiredFiles, loadLocalAtlas, defaultPackFile } from './atlas/manifest.js';
export type { ManifestIssue } from './atlas/manifest.js';
export {
  atlasToResource,
  atlasFromResource,
  configMapNameFor,
  CRA_API_VERSION,
  ATLAS_KIND,
  DEFAULT_CONFIGMAP_THRESHOLD_BYTES,
  CONFIGMAP_CONTENT_KEY,
  LABEL_ATLAS,
  LABEL_PACK,
  LABEL_PART_OF,
} from './atlas/resource.js';
export type { AtlasResource, ConfigMapResource, ResourceMetadata } from './atlas/resource.js';
export { checkDependencies, dependencyTarget } from './atlas/dependencies.js';
export type { DependencyIssue } from './atlas/dependencies.js';

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
export type { PolicySourceStats } from './policy/types.js';
export {
  evaluatePolicies,
  orderRules,
  DEFAULT_APPROVERS,
  DEFAULT_APPROVAL_TIMEOUT_SECONDS,
  DEFAULT_RATE_LIMIT_SCOPE,
} from './policy/evaluate.js';
export type { OrderedRule, PolicyTarget } from './policy/evaluate.js';
export { evaluateCondition, CONDITION_KEYS } from './policy/conditions.js';
export type { ConditionKey } from './policy/conditions.js';
export { evaluateMatch, deepEqual, MATCH_OPERATORS } from './policy/match.js';
export type { MatchOperator } from './policy/match.js';
export { checkParameterConstraints, CONSTRAINT_VIOLATED } from './policy/constraints.js';
export { getByPointer, parsePointer, isValidPointer, joinPointer, escapePointerSegment } from './policy/pointer.js';
export { globMatch, globToRegExp } from './policy/glob.js';
export { inTimeWindow, isValidTimezone, DEFAULT_TIMEZONE } from './policy/time.js';
export {
  validatePolicyRules,
  validateCondition,
  parameterConstraintIssues,
  redactionRuleIssues,
} from './policy/validate.js';
export { policyRuleSchema, policyRulesSchema, redactionRuleSchema, rateLimitSchema } from './policy/schema.js';
export { createStructuralAjv, schemaIssues } from './structural-schema.js';
export type { FieldIssue } from './structural-schema.js';

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
export { compileBundle } from './bundle/compile.js';
export type { BundleInput, CompiledBundle, RejectedResource, ResourceKind } from './bundle/compile.js';
export {
  validateBundle,
  validatePolicySpec,
  validateAgentIdentitySpec,
  validateCompiledPolicy,
  validateCompiledIdentity,
  bundleContentHash,
  bundleVersion,
} from './bundle/validate.js';
export {
  runtimeBundleSchema,
  policySpecSchema,
  agentIdentitySpecSchema,
  compiledPolicySchema,
  compiledIdentitySchema,
  labelSelectorSchema,
  BUNDLE_API_VERSION,
  BUNDLE_KIND,
} from './bundle/schema.js';

// carp schemas and validation
export {
  carpRequestSchema,
  carpResolutionSchema,
  carpExecutionResultSchema,
  carpValidationResultSchema,
  carpErrorSchema,
  traceEventSchema,
  agentIdSchema,
} from './carp/schemas.js';
export { validateCarpRequest, isCarpRequest } from './carp/validate.js';
export { createAjv, toViolations } from './validation.js';

// resolver
export { RESOLVER_DEFAULTS } from './resolver/types.js';
export type { Principal, ResolverDefaults, TraceStep } from './resolver/types.js';
export { indexBundle, wordsOf } from './resolver/bundle-index.js';
export type { BundleIndex, IndexedAtlas, IndexedPack, IndexedPolicy } from './resolver/bundle-index.js';
export { planResolution, cacheKeyParts, sourcesFor, factsFor } from './resolver/plan.js';
export type { PlanInput, ResolutionPlan, PlannedGrant } from './resolver/plan.js';
export { materializeResolution, resolutionCompletedStep } from './resolver/materialize.js';
export type { Materialized, MaterializeInput } from './resolver/materialize.js';
export { authorizeExecution, ExecutionRefused, parameterValidator } from './resolver/authorize.js';
export type { AuthorizedExecution, AuthorizeInput, CheckName } from './resolver/authorize.js';
export { reissueResolution } from './resolver/reissue.js';
export { selectAtlases, mayUse as mayUseAtlas } from './resolver/select-atlases.js';
export type { AtlasSelection } from './resolver/select-atlases.js';
export { selects, scopeEntryMatches } from './resolver/selectors.js';

// adapters (pure translation)
export { TOOL_NAME_RULES, deriveToolName, toolNameTable } from './adapters/tool-names.js';
export type { ToolNameTable, ToolSubject } from './adapters/tool-names.js';
export {
  APPROVAL_NOTE,
  denialNames,
  describeGrant,
  grantNames,
  mappingsFromBundle,
  namedGrants,
  toolNameIndex,
} from './adapters/grants.js';
export type { MappingsOf, ToolChoice, ToolNameEntry } from './adapters/grants.js';
export {
  STRICT_LIMITS,
  STRICT_UNSUPPORTED_KEYWORDS,
  strictCompatible,
  strictIssues,
} from './adapters/strict-schema.js';
export type { StrictIssue } from './adapters/strict-schema.js';
export {
  PENDING_APPROVAL_MESSAGE,
  TOOL_OUTCOME_STATUSES,
  executionOutcome,
  parseArguments,
  refusedOutcome,
  toolCall,
} from './adapters/tool-calls.js';
export type { ParsedToolCall, ToolOutcome, ToolOutcomeError, ToolOutcomeStatus } from './adapters/tool-calls.js';
export {
  chatToolChoice,
  chatToolMessage,
  chatTools,
  openaiFunctions,
  parseChatToolCalls,
  parseResponsesFunctionCalls,
  responsesFunctionCallOutput,
  responsesToolChoice,
  responsesTools,
} from './adapters/openai.js';
export type {
  ChatFunctionTool,
  ChatToolCall,
  ChatToolChoice,
  ChatToolMessage,
  OpenAIFunction,
  ResponsesFunctionCall,
  ResponsesFunctionCallOutput,
  ResponsesFunctionTool,
  ResponsesToolChoice,
} from './adapters/openai.js';
export { ChatCompletionAssembler, ResponsesStreamAssembler } from './adapters/openai-stream.js';
export type { AssembledChatMessage } from './adapters/openai-stream.js';
export {
  AnthropicStreamAssembler,
  anthropicToolChoice,
  anthropicToolResult,
  anthropicTools,
  parseAnthropicToolUses,
} from './adapters/anthropic.js';
export type {
  AnthropicTool,
  AnthropicToolChoice,
  AnthropicToolResult,
  AnthropicToolUse,
} from './adapters/anthropic.js';
export { actionsFromBundle, mcpAnnotations, mcpToolResult, mcpTools } from './adapters/mcp.js';
export type { McpTool, McpToolAnnotations, McpToolResult, McpToolsOptions } from './adapters/mcp.js';
export { anthropicSystemPrompt, decisionSummary, markdownInstructions } from './adapters/prompt.js';
export { OPENAI_FORMATS, parsePlatformCalls, renderPlatformResults } from './adapters/platform-calls.js';
export type { OpenAIFormat } from './adapters/platform-calls.js';
export {
  encodeBundle,
  decodeBundle,
  BUNDLE_KEY,
  BUNDLE_GZIP_KEY,
  BUNDLE_MANIFEST_KEY,
  DEFAULT_MAX_OBJECT_BYTES,
} from './bundle/transport.js';
export type { BundlePart, BundleManifest, DecodeResult } from './bundle/transport.js';

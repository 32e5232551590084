/**
 * The browser-safe part of core, for the trace viewer (`runtime/src/ui`): TRACE types, JSONL
 * parsing, event filters and the trace diff. Nothing here reaches `node:crypto` or another Node
 * module, so a bundler can take it into a web page. Hashing (chain verification, goldens) stays in
 * the main entry point: the viewer asks the runtime to verify.
 */
export { GENESIS_HASH, SEVERITIES, TRACE_VERSION } from './trace/types.js';
export type { ChainFailure, ChainHead, Severity, TraceEvent, TraceSource, VerifyResult } from './trace/types.js';
export { EVENT_TYPES } from './trace/event-types.js';
export { parseJsonl, toJsonl } from './trace/jsonl.js';
export { compileEventFilter, eventTypeMatcher } from './trace/filter.js';
export type { EventFilter, EventPredicate } from './trace/filter.js';
export { DEFAULT_VOLATILE, diffTraces } from './trace/diff.js';
export type {
  Compatibility,
  DiffableEvent,
  DiffOptions,
  DifferenceKind,
  DifferenceSeverity,
  TraceDiff,
  TraceDiffSummary,
  TraceDifference,
} from './trace/diff.js';
export { CraError, isCraError } from './errors.js';

/**
 * TRACE 1.0 envelope (CRA-SPEC §6.1). Optional members are omitted, never `null`.
 */

export const TRACE_VERSION = '1.0' as const;
export const GENESIS_HASH = '0'.repeat(64);

export const SEVERITIES = ['debug', 'info', 'warn', 'error'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface TraceSource {
  component: string;
  version: string;
  instance_id: string;
}

export interface TraceEvent {
  trace_version: typeof TRACE_VERSION;
  event_id: string;
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  session_id: string;
  sequence: number;
  timestamp: string;
  event_type: string;
  severity: Severity;
  source: TraceSource;
  payload: Record<string, unknown>;
  tags?: Record<string, string>;
  previous_event_hash: string;
  event_hash: string;
}

/** An event before it is placed on its session's chain: no sequence, no hashes yet. */
export type EventDraft = Omit<TraceEvent, 'sequence' | 'previous_event_hash' | 'event_hash'>;

/** The head of one session's chain: what the next event links to. */
export interface ChainHead {
  sequence: number;
  event_hash: string;
}

export const CHAIN_ERRORS = ['invalid_genesis', 'hash_mismatch', 'chain_broken', 'sequence_gap'] as const;
export type ChainErrorType = (typeof CHAIN_ERRORS)[number];

export interface ChainFailure {
  index: number;
  error: ChainErrorType;
  message: string;
}

export interface VerifyResult {
  valid: boolean;
  event_count: number;
  first_failure?: ChainFailure;
  head?: ChainHead;
}

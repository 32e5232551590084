/**
 * Store ports: what the domain needs from persistence. Implementations: `sql/` (one schema and
 * one set of queries for Postgres and the embedded PGlite), `memory-cache.ts`, and Redis
 * (shared state across replicas).
 */
import type {
  CARPExecutionResult,
  CARPResolution,
  ChainHead,
  EventDraft,
  ExecuteRequest,
  RiskTier,
  TraceEvent,
} from '@cra/core';

export interface SessionRecord {
  session_id: string;
  agent_id: string;
  agent_type?: string;
  status: 'active' | 'ended' | 'error';
  metadata: Record<string, string>;
  started_at: string;
  ended_at?: string;
  event_count: number;
  head?: ChainHead;
}

export interface ResolutionRecord {
  resolution: CARPResolution;
  agent_id: string;
  /** The request's declared (or defaulted) risk tier; execute re-evaluates policies with it. */
  risk_tier: RiskTier;
}

export interface ReadEventsOptions {
  fromSequence?: number;
  limit?: number;
  eventTypes?: string[];
}

export interface TraceStore {
  /** Seals drafts onto the session's chain, serialised with every other appender, and stores them. */
  append(sessionId: string, drafts: readonly EventDraft[]): Promise<TraceEvent[]>;
  read(sessionId: string, options?: ReadEventsOptions): Promise<TraceEvent[]>;
  head(sessionId: string): Promise<ChainHead | null>;
}

export interface SessionStore {
  /**
   * Creates the session; returns false when the id exists already. `origin` says who chose the
   * id: a server-generated id cannot collide with someone else's session.
   */
  create(session: SessionRecord, origin?: 'client' | 'server'): Promise<boolean>;
  get(sessionId: string): Promise<SessionRecord | null>;
  end(sessionId: string, status: 'ended' | 'error', endedAt: string): Promise<SessionRecord | null>;
  list(filter: { agentId?: string; status?: string; limit: number; offset: number }): Promise<SessionRecord[]>;
  count(filter: { status?: string }): Promise<number>;
  /**
   * Throws `SERVICE_UNAVAILABLE` when the store takes no new operations now (Postgres down and
   * `store.onUnavailable: fail`). Called at the start of every CARP operation; absent: always open.
   */
  admit?(): void;
}

export interface ResolutionStore {
  put(record: ResolutionRecord): Promise<void>;
  get(resolutionId: string): Promise<ResolutionRecord | null>;
  /** Deletes resolutions that expired before `before` (epoch ms); returns how many. */
  prune(before: number): Promise<number>;
}

export type IdempotencyClaim =
  { state: 'new' } | { state: 'done'; result: CARPExecutionResult } | { state: 'in_progress' };

export interface IdempotencyStore {
  /** Atomically claims `key` for a resolution, or reports the first outcome. */
  claim(resolutionId: string, key: string, expiresAt: number): Promise<IdempotencyClaim>;
  complete(resolutionId: string, key: string, result: CARPExecutionResult): Promise<void>;
  /** Releases a claim whose execution did not reach a result (so a retry may run). */
  release(resolutionId: string, key: string): Promise<void>;
}

export interface ExecutionStore {
  put(result: CARPExecutionResult, agentId: string, sessionId: string): Promise<void>;
  get(executionId: string): Promise<{ result: CARPExecutionResult; agent_id: string; session_id: string } | null>;
}

export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'timeout'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export interface ApprovalRecord {
  approval_id: string;
  status: ApprovalStatus;
  resolution_id: string;
  /** Reserved when the approval is requested; the approved execution reports under it. */
  execution_id: string;
  agent_id: string;
  session_id: string;
  action_type: string;
  action_id: string;
  approvers: string[];
  /** The execute request as received (parameters included), replayed once approved. */
  request: ExecuteRequest;
  trace_id: string;
  created_at: string;
  expires_at: string;
  decided_by?: string;
  decided_at?: string;
  reason?: string;
}

export interface ApprovalStore {
  create(record: ApprovalRecord): Promise<void>;
  get(approvalId: string): Promise<ApprovalRecord | null>;
  list(filter: { status?: ApprovalStatus; agentId?: string; limit: number }): Promise<ApprovalRecord[]>;
  /** Moves a pending approval to `status` exactly once; null when it was no longer pending. */
  decide(
    approvalId: string,
    status: Exclude<ApprovalStatus, 'pending'>,
    by: string,
    at: string,
    reason?: string,
  ): Promise<ApprovalRecord | null>;
  /** Pending approvals whose deadline passed before `now`. */
  expired(now: number, limit: number): Promise<ApprovalRecord[]>;
  countPending(): Promise<number>;
}

/** A small key/value cache with TTL (resolution cache). */
export interface Cache<T> {
  get(key: string): Promise<T | undefined>;
  set(key: string, value: T, ttlMs: number): Promise<void>;
  clear(): Promise<void>;
}

export interface Stores {
  traces: TraceStore;
  sessions: SessionStore;
  resolutions: ResolutionStore;
  idempotency: IdempotencyStore;
  executions: ExecutionStore;
  approvals: ApprovalStore;
  resolutionCache: Cache<CARPResolution>;
  /** Liveness of the backing services, for /readyz. */
  health(): Promise<Record<string, { ok: boolean; detail?: string }>>;
  close(): Promise<void>;
}

/**
 * CARP sessions: one TRACE chain each, owned by one agent. A request naming an unknown session id
 * starts it (genesis event `session.started`); ended sessions accept nothing more.
 */
import { CraError, isoTime, isUuidV7, type Clock, type IdSource, type Principal } from '@cra/core';
import type { SessionRecord, SessionStore } from '../store/ports.js';
import type { SpanContext, Tracer } from './tracer.js';

export interface StartSessionInput {
  sessionId?: string;
  agentType?: string;
  metadata?: Record<string, string>;
}

/** How long this replica trusts that a session it saw active still is (ending elsewhere shows after this). */
const ACTIVE_CACHE_MS = 2_000;
const ACTIVE_CACHE_MAX = 10_000;

export class Sessions {
  private readonly recentlyActive = new Map<string, { record: SessionRecord; until: number }>();

  constructor(
    private readonly store: SessionStore,
    private readonly tracer: Tracer,
    private readonly ids: IdSource,
    private readonly clock: Clock,
    private readonly describe: () => { atlases: string[]; bundle_version: string },
  ) {}

  async start(principal: Principal, span: SpanContext, input: StartSessionInput = {}): Promise<SessionRecord> {
    const record: SessionRecord = {
      session_id: input.sessionId ?? this.ids.uuid(),
      agent_id: principal.agentId,
      ...(input.agentType ? { agent_type: input.agentType } : {}),
      status: 'active',
      metadata: input.metadata ?? {},
      started_at: isoTime(this.clock.now()),
      event_count: 0,
    };
    const created = await this.store.create(record, input.sessionId ? 'client' : 'server');
    if (!created) {
      const existing = await this.store.get(record.session_id);
      if (!existing) throw new CraError('INTERNAL_ERROR', 'session vanished while being created');
      return this.checkUsable(existing, principal);
    }
    const { atlases, bundle_version } = this.describe();
    const [genesis] = await this.tracer.emit(record.session_id, span, [
      {
        type: 'session.started',
        payload: {
          agent_id: principal.agentId,
          agent_type: record.agent_type ?? 'unknown',
          atlases,
          bundle_version,
          ...(Object.keys(record.metadata).length > 0 ? { metadata: record.metadata } : {}),
        },
      },
    ]);
    return { ...record, event_count: 1, ...(genesis ? { head: { sequence: 0, event_hash: genesis.event_hash } } : {}) };
  }

  /** The session for a CARP request: existing and usable by this agent, or started now. */
  async ensure(principal: Principal, span: SpanContext, sessionId: string, agentType?: string): Promise<SessionRecord> {
    this.store.admit?.();
    const cached = this.recentlyActive.get(sessionId);
    if (cached && cached.until > this.clock.now() && cached.record.agent_id === principal.agentId) return cached.record;
    const existing = await this.store.get(sessionId);
    const record = existing
      ? this.checkUsable(existing, principal)
      : await this.start(principal, span, { sessionId, ...(agentType ? { agentType } : {}) });
    this.remember(record);
    return record;
  }

  private remember(record: SessionRecord): void {
    if (record.status !== 'active') return;
    if (this.recentlyActive.size >= ACTIVE_CACHE_MAX) this.recentlyActive.clear();
    this.recentlyActive.set(record.session_id, { record, until: this.clock.now() + ACTIVE_CACHE_MS });
  }

  async get(principal: Principal, sessionId: string): Promise<SessionRecord> {
    const session = await this.store.get(sessionId);
    if (!session) throw new CraError('NOT_FOUND', `session ${sessionId} does not exist`);
    this.checkReadable(session, principal);
    return session;
  }

  async end(principal: Principal, span: SpanContext, sessionId: string, reason = 'completed'): Promise<SessionRecord> {
    const session = await this.get(principal, sessionId);
    if (session.agent_id !== principal.agentId && !principal.roles.includes('admin')) {
      throw new CraError('FORBIDDEN', 'only the owning agent or an admin may end a session');
    }
    if (session.status !== 'active')
      throw new CraError('CONFLICT', `session ${sessionId} is already ${session.status}`);
    const duration = this.clock.now() - Date.parse(session.started_at);
    await this.tracer.emit(sessionId, span, [
      { type: 'session.ended', payload: { reason, duration_ms: duration, events_emitted: session.event_count + 1 } },
    ]);
    this.recentlyActive.delete(sessionId);
    const ended = await this.store.end(sessionId, 'ended', isoTime(this.clock.now()));
    if (!ended) throw new CraError('CONFLICT', `session ${sessionId} ended concurrently`);
    return ended;
  }

  list(principal: Principal, filter: { status?: string; limit: number; offset: number }): Promise<SessionRecord[]> {
    const all = principal.roles.includes('admin') || principal.roles.includes('auditor');
    return this.store.list({ ...filter, ...(all ? {} : { agentId: principal.agentId }) });
  }

  private checkUsable(session: SessionRecord, principal: Principal): SessionRecord {
    if (session.agent_id !== principal.agentId) {
      throw new CraError('FORBIDDEN', `session ${session.session_id} belongs to another agent`);
    }
    if (session.status !== 'active') {
      throw new CraError('CONFLICT', `session ${session.session_id} is ${session.status}; start a new session`);
    }
    return session;
  }

  /**
   * A request that failed schema validation is recorded (`error.validation`) in its session when
   * the session can be told for sure: it exists, is active and belongs to the caller. Otherwise
   * (no usable session id) there is no chain to record it in. Never throws.
   */
  async recordInvalid(
    principal: Principal,
    span: SpanContext,
    body: unknown,
    operation: string,
    violations: readonly { path: string; message: string }[],
  ): Promise<void> {
    await this.recordInSession(principal, span, body, 'error.validation', {
      operation,
      violations: violations.slice(0, 50).map((v) => ({ path: v.path, message: v.message })),
    });
  }

  /**
   * A request answered `500 INTERNAL_ERROR` is recorded (`error.internal`) in its session on the
   * same terms as `recordInvalid`, with the id its log lines carry; never the fault's detail.
   * Never throws (the store may be what failed).
   */
  async recordInternal(principal: Principal, span: SpanContext, body: unknown, logRequestId: string): Promise<void> {
    const operation = (body as { operation?: unknown } | null)?.operation;
    await this.recordInSession(principal, span, body, 'error.internal', {
      ...(typeof operation === 'string' && operation.length <= 64 ? { operation } : {}),
      error_code: 'INTERNAL_ERROR',
      log_request_id: logRequestId,
    });
  }

  private async recordInSession(
    principal: Principal,
    span: SpanContext,
    body: unknown,
    type: 'error.validation' | 'error.internal',
    payload: Record<string, unknown>,
  ): Promise<void> {
    const requester = (body as { requester?: { session_id?: unknown } } | null)?.requester;
    const sessionId = typeof requester?.session_id === 'string' ? requester.session_id : undefined;
    if (!sessionId || !isUuidV7(sessionId)) return;
    try {
      const session = await this.store.get(sessionId);
      if (!session || session.agent_id !== principal.agentId || session.status !== 'active') return;
      const requestId = (body as { request_id?: unknown }).request_id;
      await this.tracer.emit(sessionId, span, [
        {
          type,
          severity: type === 'error.internal' ? 'error' : 'warn',
          payload: {
            ...(typeof requestId === 'string' && requestId.length <= 128 ? { request_id: requestId } : {}),
            ...payload,
          },
        },
      ]);
    } catch {
      // Recording is best effort; the caller's answer does not depend on it.
    }
  }

  /** Owners read their sessions; admins and auditors read every session. */
  checkReadable(session: SessionRecord, principal: Principal): void {
    if (session.agent_id === principal.agentId) return;
    if (principal.roles.includes('admin') || principal.roles.includes('auditor')) return;
    throw new CraError('FORBIDDEN', `session ${session.session_id} belongs to another agent`);
  }
}

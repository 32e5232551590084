/**
 * Approvals (CRA-SPEC §5): a pending execution waits for an identity with the approver role;
 * approval runs it (re-checking policy with the current bundle), denial or timeout refuses it.
 * Each step is a TRACE event in the requesting agent's session, in the original trace.
 */
import {
  CARP_VERSION,
  CraError,
  isoTime,
  type CARPExecutionResult,
  type Clock,
  type IdSource,
  type Principal,
} from '@cra/core';
import type { ApprovalRecord, ApprovalStatus, Stores } from '../store/ports.js';
import type { ExecuteOperation } from './execute.js';
import type { SpanContext, Tracer } from './tracer.js';

export interface ApprovalView extends ApprovalRecord {
  result?: CARPExecutionResult;
}

export interface ApprovalsDeps {
  stores: Stores;
  tracer: Tracer;
  execute: ExecuteOperation;
  ids: IdSource;
  clock: Clock;
  /** The principal an approved execution runs as (the requesting agent). */
  principalFor(agentId: string): Principal;
  onChange?: () => void;
}

function canApprove(principal: Principal, approval: ApprovalRecord): boolean {
  if (principal.agentId === approval.agent_id) return false;
  if (principal.roles.includes('admin')) return true;
  return approval.approvers.some((entry) =>
    entry.startsWith('role:')
      ? principal.roles.includes(entry.slice(5) as Principal['roles'][number])
      : entry.replace(/^user:/, '') === principal.agentId,
  );
}

function canRead(principal: Principal, approval: ApprovalRecord): boolean {
  return (
    principal.agentId === approval.agent_id ||
    principal.roles.includes('approver') ||
    principal.roles.includes('admin') ||
    principal.roles.includes('auditor')
  );
}

export class Approvals {
  constructor(private readonly deps: ApprovalsDeps) {}

  private span(approval: ApprovalRecord): SpanContext {
    return { trace_id: approval.trace_id, span_id: this.deps.ids.spanId() };
  }

  async list(principal: Principal, filter: { status?: ApprovalStatus; limit: number }): Promise<ApprovalRecord[]> {
    await this.expireDue();
    const everyone = ['approver', 'admin', 'auditor'].some((r) =>
      principal.roles.includes(r as Principal['roles'][number]),
    );
    return this.deps.stores.approvals.list({ ...filter, ...(everyone ? {} : { agentId: principal.agentId }) });
  }

  async get(principal: Principal, approvalId: string): Promise<ApprovalView> {
    await this.expireDue();
    const approval = await this.deps.stores.approvals.get(approvalId);
    if (!approval || !canRead(principal, approval)) {
      throw new CraError('NOT_FOUND', `approval ${approvalId} does not exist`);
    }
    const stored = await this.deps.stores.executions.get(approval.execution_id);
    return { ...approval, ...(stored && stored.result.status !== 'pending_approval' ? { result: stored.result } : {}) };
  }

  async approve(principal: Principal, approvalId: string, reason?: string): Promise<ApprovalView> {
    const pending = await this.deps.stores.approvals.get(approvalId);
    // The approved execution runs as the requesting agent: that identity must still exist.
    if (pending && canRead(principal, pending)) {
      try {
        this.deps.principalFor(pending.agent_id);
      } catch {
        throw new CraError(
          'CONFLICT',
          `agent ${pending.agent_id} no longer has an identity; deny this approval instead`,
        );
      }
    }
    const approval = await this.decide(principal, approvalId, 'approved', reason);
    const leading = [
      {
        type: 'carp.action.approval.approved' as const,
        payload: {
          approval_id: approval.approval_id,
          execution_id: approval.execution_id,
          approved_by: principal.agentId,
          ...(reason ? { reason } : {}),
        },
      },
    ];
    const span = this.span(approval);
    let result: CARPExecutionResult;
    try {
      result = await this.deps.execute.runApproved(
        { principal: this.deps.principalFor(approval.agent_id) },
        approval.request,
        approval.execution_id,
        span,
        leading,
      );
    } catch (err) {
      // Approved, but no longer permitted (a policy or the bundle changed meanwhile): the
      // decision and the refusal are recorded, and the execution gets its final result.
      if (!(err instanceof CraError) || err.status >= 500) throw err;
      await this.deps.tracer.emit(approval.session_id, span, [
        ...leading,
        {
          type: 'carp.action.denied',
          severity: 'warn',
          payload: {
            approval_id: approval.approval_id,
            execution_id: approval.execution_id,
            action_type: approval.action_type,
            error_code: err.code,
            reason: err.message,
          },
        },
      ]);
      result = this.finalResult(approval, span, { code: err.code, message: err.message }, leading.length + 1);
    }
    await this.deps.stores.executions.put(result, approval.agent_id, approval.session_id);
    return { ...approval, result };
  }

  private finalResult(
    approval: ApprovalRecord,
    span: SpanContext,
    error: { code: string; message: string },
    events: number,
  ): CARPExecutionResult {
    return {
      carp_version: CARP_VERSION,
      request_id: approval.request.request_id,
      execution_id: approval.execution_id,
      resolution_id: approval.resolution_id,
      action_id: approval.action_id,
      timestamp: isoTime(this.deps.clock.now()),
      status: 'denied',
      approval_id: approval.approval_id,
      error: { ...error, retriable: false },
      metrics: { duration_ms: 0 },
      telemetry_link: { trace_id: span.trace_id, span_id: span.span_id, events_emitted: events },
    };
  }

  async deny(principal: Principal, approvalId: string, reason?: string): Promise<ApprovalView> {
    const approval = await this.decide(principal, approvalId, 'denied', reason);
    const result = await this.refuse(approval, 'carp.action.approval.denied', {
      denied_by: principal.agentId,
      ...(reason ? { reason } : {}),
    });
    return { ...approval, result };
  }

  /** Times out every pending approval whose deadline passed. Safe to run on every replica. */
  async expireDue(): Promise<number> {
    const now = this.deps.clock.now();
    const due = await this.deps.stores.approvals.expired(now, 100);
    let count = 0;
    for (const candidate of due) {
      const approval = await this.deps.stores.approvals.decide(
        candidate.approval_id,
        'timeout',
        'system',
        isoTime(now),
      );
      if (!approval) continue; // another replica got there first
      await this.refuse(approval, 'carp.action.approval.timeout', { expired_at: approval.expires_at });
      count += 1;
    }
    if (count > 0) this.deps.onChange?.();
    return count;
  }

  private async decide(
    principal: Principal,
    approvalId: string,
    status: 'approved' | 'denied',
    reason?: string,
  ): Promise<ApprovalRecord> {
    await this.expireDue();
    const existing = await this.deps.stores.approvals.get(approvalId);
    if (!existing || !canRead(principal, existing))
      throw new CraError('NOT_FOUND', `approval ${approvalId} does not exist`);
    if (!canApprove(principal, existing)) {
      throw new CraError(
        'FORBIDDEN',
        'only a listed approver other than the requesting agent may decide this approval',
        {
          details: { approvers: existing.approvers },
        },
      );
    }
    if (existing.status !== 'pending')
      throw new CraError('CONFLICT', `approval ${approvalId} is already ${existing.status}`);
    const decided = await this.deps.stores.approvals.decide(
      approvalId,
      status,
      principal.agentId,
      isoTime(this.deps.clock.now()),
      reason,
    );
    if (!decided) throw new CraError('CONFLICT', `approval ${approvalId} was decided concurrently`);
    this.deps.onChange?.();
    return decided;
  }

  private async refuse(
    approval: ApprovalRecord,
    type: 'carp.action.approval.denied' | 'carp.action.approval.timeout',
    extra: Record<string, unknown>,
  ): Promise<CARPExecutionResult> {
    const span = this.span(approval);
    await this.deps.tracer.emit(approval.session_id, span, [
      {
        type,
        severity: 'warn',
        payload: {
          approval_id: approval.approval_id,
          execution_id: approval.execution_id,
          action_type: approval.action_type,
          ...extra,
        },
      },
    ]);
    const timedOut = type === 'carp.action.approval.timeout';
    const result = this.finalResult(
      approval,
      span,
      timedOut
        ? { code: 'TIMEOUT', message: 'no approver decided before the approval timed out' }
        : { code: 'ACTION_NOT_PERMITTED', message: 'an approver denied this execution' },
      1,
    );
    await this.deps.stores.executions.put(result, approval.agent_id, approval.session_id);
    return result;
  }
}

/**
 * Execute and validate (CRA-SPEC §2, §5). Every check runs in the spec's order and each outcome
 * is a TRACE event; permitted actions run through the real executor; approvals hold the
 * execution until an approver decides.
 */
import {
  authorizeExecution,
  canonicalJson,
  CARP_VERSION,
  CraError,
  ExecutionRefused,
  isoTime,
  sha256Hex,
  validateCarpRequest,
  type AtlasAction,
  type AuthorizedExecution,
  type CARPExecutionResult,
  type CARPValidationResult,
  type Clock,
  type ExecuteRequest,
  type IdSource,
  type SideEffect,
  type TraceStep,
  type Violation,
} from '@cra/core';
import type { RateLimiter } from '../limits/types.js';
import type { ResolutionRecord, Stores } from '../store/ports.js';
import type { BundleHolder } from './bundle-holder.js';
import { operationSpan, type CallContext } from './call-context.js';
import { inChildSpan, inOperationSpan, SpanKind } from './otel.js';
import { assertRequester, invalid } from './resolve.js';
import type { Sessions } from './sessions.js';
import type { SpanContext, Tracer } from './tracer.js';

export interface ActionRunInput {
  action: AtlasAction;
  parameters: Record<string, unknown>;
  timeoutMs?: number;
  traceparent?: string;
}

export interface ActionRunOutput {
  output: unknown;
  outputType: string;
  sideEffects: SideEffect[];
  apiCalls: number;
}

/** Port to the executors (`http`, `mcp`). */
export interface ActionRunner {
  run(input: ActionRunInput): Promise<ActionRunOutput>;
}

export interface ExecuteObserver {
  executed(status: string, seconds: number): void;
  rateLimited(scope: string): void;
}

export interface ExecuteDeps {
  stores: Stores;
  bundles: BundleHolder;
  tracer: Tracer;
  sessions: Sessions;
  limiter: RateLimiter;
  runner: ActionRunner;
  ids: IdSource;
  clock: Clock;
  /** For approval rules that set no timeout (resolver.approvalTimeoutSeconds). */
  approvalTimeoutSeconds: number;
  observer?: ExecuteObserver;
}

interface Checked {
  request: ExecuteRequest;
  record: ResolutionRecord;
  authorized: AuthorizedExecution;
  span: SpanContext;
}

function limitKey(scope: string, request: ExecuteRequest, authorized: AuthorizedExecution, agentId: string): string {
  switch (scope) {
    case 'action':
      return `action:${agentId}:${authorized.grant.action_type}`;
    case 'session':
      return `session:${request.requester.session_id}`;
    case 'atlas':
      return `atlas:${authorized.grant.atlas_ref}`;
    case 'global':
      return 'global';
    default:
      return `agent:${agentId}`;
  }
}

export class ExecuteOperation {
  constructor(private readonly deps: ExecuteDeps) {}

  /** Everything execute checks before rate limits, approval and the executor. */
  /** Schema and caller checks, then `fn` inside the operation's span. */
  private async inSpan<T>(
    ctx: CallContext,
    body: unknown,
    operation: 'execute' | 'validate',
    fn: (request: ExecuteRequest, span: SpanContext) => Promise<T>,
  ): Promise<T> {
    const violations = validateCarpRequest(body, operation);
    if (violations.length > 0) {
      const span = operationSpan(this.deps.ids, undefined, ctx.traceparent);
      await this.deps.sessions.recordInvalid(ctx.principal, span, body, operation, violations);
      throw invalid(violations);
    }
    const request = body as ExecuteRequest;
    assertRequester(ctx, request.requester.agent_id);
    return inOperationSpan(
      `cra.${operation}`,
      this.deps.ids,
      request.telemetry,
      ctx.traceparent,
      {
        'cra.request_id': request.request_id,
        'cra.operation': operation,
        'cra.action_type': request.action.action_type,
      },
      (span) => fn(request, span),
    );
  }

  private async check(
    ctx: CallContext,
    request: ExecuteRequest,
    span: SpanContext,
    operation: 'execute' | 'validate',
  ): Promise<Checked> {
    await this.deps.sessions.ensure(ctx.principal, span, request.requester.session_id, request.requester.agent_type);
    const call = request.action;
    const requested: TraceStep = {
      type: operation === 'execute' ? 'carp.action.requested' : 'carp.request.received',
      payload: {
        request_id: request.request_id,
        operation,
        resolution_id: call.resolution_id,
        action_id: call.action_id,
        action_type: call.action_type,
        parameters: call.parameters ?? {},
        ...(request.idempotency_key ? { idempotency_key: request.idempotency_key } : {}),
      },
    };
    const record = await this.deps.stores.resolutions.get(call.resolution_id);
    try {
      if (!record) {
        throw new ExecutionRefused(
          'resolution',
          new CraError('RESOLUTION_NOT_FOUND', `resolution ${call.resolution_id} does not exist`),
        );
      }
      const authorized = authorizeExecution({
        resolution: record.resolution,
        resolutionAgentId: record.agent_id,
        requestRiskTier: record.risk_tier,
        request,
        principal: ctx.principal,
        index: this.deps.bundles.current,
        now: this.deps.clock.now(),
        approvalTimeoutSeconds: this.deps.approvalTimeoutSeconds,
      });
      await this.deps.tracer.emit(request.requester.session_id, span, [requested], authorized.redactions);
      return { request, record, authorized, span };
    } catch (err) {
      if (err instanceof ExecutionRefused) {
        await this.deps.tracer.emit(request.requester.session_id, span, [
          requested,
          {
            type: operation === 'execute' ? 'carp.action.denied' : 'carp.validation.completed',
            severity: 'warn',
            payload: {
              request_id: request.request_id,
              action_id: call.action_id,
              action_type: call.action_type,
              check: err.check,
              error_code: err.code,
              reason: err.message,
              ...(operation === 'validate' ? { valid: false, decision: 'deny' } : {}),
              ...(err.violations.length > 0 ? { violations: err.violations } : {}),
            },
          },
        ]);
      }
      throw err;
    }
  }

  validate(ctx: CallContext, body: unknown): Promise<CARPValidationResult> {
    return this.inSpan(ctx, body, 'validate', (request, span) => this.validateIn(ctx, request, span));
  }

  private async validateIn(
    ctx: CallContext,
    request: ExecuteRequest,
    span: SpanContext,
  ): Promise<CARPValidationResult> {
    const now = () => isoTime(this.deps.clock.now());
    let checked: Checked;
    try {
      checked = await this.check(ctx, request, span, 'validate');
    } catch (err) {
      if (!(err instanceof ExecutionRefused)) throw err;
      const violations: Violation[] =
        err.violations.length > 0 ? err.violations : [{ code: err.code, path: '/action', message: err.message }];
      return {
        carp_version: CARP_VERSION,
        request_id: request.request_id,
        timestamp: now(),
        valid: false,
        decision: 'deny',
        violations,
        telemetry_link: { trace_id: span.trace_id, span_id: span.span_id, events_emitted: 2 },
      };
    }
    const { authorized } = checked;
    const limits = this.limitsFor(request, authorized, ctx);
    let decision: CARPValidationResult['decision'] = authorized.requiresApproval ? 'requires_approval' : 'allow';
    const violations: Violation[] = [];
    for (const limit of limits) {
      const peek = await this.deps.limiter.peek(limit.key, limit);
      if (!peek.allowed) {
        decision = 'rate_limited';
        violations.push({
          code: 'RATE_LIMITED',
          path: '/action',
          message: `${limit.scope} rate limit of ${limit.requests}/${limit.windowSeconds}s exhausted; retry in ${Math.ceil(peek.retryAfterMs / 1000)}s`,
        });
        break;
      }
    }
    const valid = decision !== 'rate_limited';
    await this.deps.tracer.emit(
      request.requester.session_id,
      span,
      [
        {
          type: 'carp.validation.completed',
          payload: {
            request_id: request.request_id,
            action_id: request.action.action_id,
            action_type: request.action.action_type,
            valid,
            decision,
            violations_count: violations.length,
          },
        },
      ],
      authorized.redactions,
    );
    return {
      carp_version: CARP_VERSION,
      request_id: request.request_id,
      timestamp: now(),
      valid,
      decision,
      violations,
      telemetry_link: { trace_id: span.trace_id, span_id: span.span_id, events_emitted: 2 },
    };
  }

  private limitsFor(request: ExecuteRequest, authorized: AuthorizedExecution, ctx: CallContext) {
    const out: { key: string; scope: string; requests: number; windowSeconds: number }[] = [];
    if (authorized.rateLimit) {
      const { scope, requests, windowSeconds } = authorized.rateLimit;
      out.push({
        key: `rl:${limitKey(scope, request, authorized, ctx.principal.agentId)}:${requests}/${windowSeconds}`,
        scope,
        requests,
        windowSeconds,
      });
    }
    return out;
  }

  execute(ctx: CallContext, body: unknown): Promise<CARPExecutionResult> {
    return this.inSpan(ctx, body, 'execute', (request, span) => this.executeIn(ctx, request, span));
  }

  private async executeIn(ctx: CallContext, request: ExecuteRequest, span: SpanContext): Promise<CARPExecutionResult> {
    const started = performance.now();
    const checked = await this.check(ctx, request, span, 'execute');
    const { authorized } = checked;
    const sessionId = request.requester.session_id;
    const emit = (steps: TraceStep[]) => this.deps.tracer.emit(sessionId, span, steps, authorized.redactions);
    const validated: TraceStep = {
      type: 'carp.action.validated',
      payload: {
        action_id: authorized.grant.action_id,
        action_type: authorized.grant.action_type,
        atlas_action_id: authorized.grant.atlas_action_id,
        requires_approval: authorized.requiresApproval,
      },
    };

    const key = request.idempotency_key;
    if (key) {
      const claim = await this.deps.stores.idempotency.claim(
        request.action.resolution_id,
        key,
        Date.parse(checked.record.resolution.ttl.resolution_expires_at),
      );
      if (claim.state === 'done') {
        await emit([
          validated,
          {
            type: 'carp.action.completed',
            payload: { execution_id: claim.result.execution_id, status: claim.result.status, idempotent_replay: true },
          },
        ]);
        return claim.result;
      }
      if (claim.state === 'in_progress') {
        throw new CraError('CONFLICT', `an execution with idempotency_key "${key}" is in progress`);
      }
    }

    try {
      for (const limit of this.limitsFor(request, authorized, ctx)) {
        const decision = await this.deps.limiter.take(limit.key, limit);
        if (!decision.allowed) {
          this.deps.observer?.rateLimited(limit.scope);
          await emit([
            validated,
            {
              type: 'carp.action.rate_limited',
              severity: 'warn',
              payload: {
                action_id: authorized.grant.action_id,
                scope: limit.scope,
                limit: limit.requests,
                window_seconds: limit.windowSeconds,
                retry_after_ms: decision.retryAfterMs,
              },
            },
          ]);
          throw new CraError(
            'RATE_LIMITED',
            `${limit.scope} rate limit of ${limit.requests}/${limit.windowSeconds}s exhausted`,
            {
              retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
              details: {
                scope: limit.scope,
                limit: limit.requests,
                window_seconds: limit.windowSeconds,
                reset_ms: decision.resetMs,
              },
            },
          );
        }
      }

      const executionId = this.deps.ids.uuid();
      let result: CARPExecutionResult;
      if (authorized.requiresApproval) {
        result = await this.requestApproval(ctx, checked, executionId, validated);
      } else {
        result = await this.run(checked, executionId, [validated]);
      }
      await this.deps.stores.executions.put(result, ctx.principal.agentId, sessionId);
      if (key) await this.deps.stores.idempotency.complete(request.action.resolution_id, key, result);
      this.deps.observer?.executed(result.status, (performance.now() - started) / 1000);
      return result;
    } catch (err) {
      if (key) await this.deps.stores.idempotency.release(request.action.resolution_id, key);
      throw err;
    }
  }

  private async requestApproval(
    ctx: CallContext,
    checked: Checked,
    executionId: string,
    validated: TraceStep,
  ): Promise<CARPExecutionResult> {
    const { request, authorized, span } = checked;
    const approval = authorized.approval ?? {
      approvers: ['role:approver'],
      timeoutSeconds: this.deps.approvalTimeoutSeconds,
    };
    const now = this.deps.clock.now();
    const approvalId = this.deps.ids.uuid();
    const expiresAt = isoTime(now + approval.timeoutSeconds * 1000);
    await this.deps.stores.approvals.create({
      approval_id: approvalId,
      status: 'pending',
      resolution_id: request.action.resolution_id,
      execution_id: executionId,
      agent_id: ctx.principal.agentId,
      session_id: request.requester.session_id,
      action_type: authorized.grant.action_type,
      action_id: authorized.grant.action_id,
      approvers: approval.approvers,
      request,
      trace_id: span.trace_id,
      created_at: isoTime(now),
      expires_at: expiresAt,
    });
    await this.deps.tracer.emit(
      request.requester.session_id,
      span,
      [
        validated,
        {
          type: 'carp.action.approval.pending',
          payload: {
            approval_id: approvalId,
            execution_id: executionId,
            action_id: authorized.grant.action_id,
            action_type: authorized.grant.action_type,
            approvers: approval.approvers,
            expires_at: expiresAt,
          },
        },
      ],
      authorized.redactions,
    );
    return {
      carp_version: CARP_VERSION,
      request_id: request.request_id,
      execution_id: executionId,
      resolution_id: request.action.resolution_id,
      action_id: request.action.action_id,
      timestamp: isoTime(now),
      status: 'pending_approval',
      approval_id: approvalId,
      metrics: { duration_ms: 0 },
      telemetry_link: { trace_id: span.trace_id, span_id: span.span_id, events_emitted: 3 },
    };
  }

  /** Runs the executor and records the outcome. Used directly and after an approval. */
  async run(checked: Checked, executionId: string, leading: TraceStep[]): Promise<CARPExecutionResult> {
    const { request, authorized, span } = checked;
    const emit = (steps: TraceStep[]) =>
      this.deps.tracer.emit(request.requester.session_id, span, steps, authorized.redactions);
    const base = {
      carp_version: CARP_VERSION,
      request_id: request.request_id,
      execution_id: executionId,
      resolution_id: request.action.resolution_id,
      action_id: request.action.action_id,
    } as const;
    const startStep: TraceStep = {
      type: 'carp.action.started',
      payload: {
        execution_id: executionId,
        action_id: authorized.grant.action_id,
        action_type: authorized.grant.action_type,
        executor: authorized.action.executor?.type ?? 'none',
      },
    };
    const t0 = performance.now();
    try {
      if (!authorized.action.executor) {
        throw new CraError('EXECUTION_FAILED', `action ${authorized.action.id} has no executor configured`, {
          retriable: false,
        });
      }
      const executor = authorized.action.executor;
      const out = await inChildSpan(
        `cra.executor.${executor.type}`,
        SpanKind.CLIENT,
        { 'cra.action_type': authorized.grant.action_type, 'cra.execution_id': executionId },
        () =>
          this.deps.runner.run({
            action: authorized.action,
            parameters: request.action.parameters ?? {},
            ...(request.execution_options?.timeout_ms ? { timeoutMs: request.execution_options.timeout_ms } : {}),
            traceparent: `00-${span.trace_id}-${span.span_id}-01`,
          }),
      );
      const durationMs = Math.round((performance.now() - t0) * 1000) / 1000;
      const outputHash = sha256Hex(canonicalJson(out.output ?? null));
      const steps: TraceStep[] = [
        ...leading,
        startStep,
        ...out.sideEffects.map((effect): TraceStep => ({
          type: 'carp.action.side_effect',
          payload: {
            execution_id: executionId,
            type: effect.type,
            target: effect.target,
            reversible: effect.reversible,
          },
        })),
        {
          type: 'carp.action.completed',
          payload: {
            execution_id: executionId,
            action_id: authorized.grant.action_id,
            action_type: authorized.grant.action_type,
            status: 'success',
            duration_ms: durationMs,
            output_hash: outputHash,
            output_type: out.outputType,
            side_effects_count: out.sideEffects.length,
          },
        },
      ];
      await emit(steps);
      return {
        ...base,
        timestamp: isoTime(this.deps.clock.now()),
        status: 'success',
        result: { output: out.output ?? null, output_hash: outputHash, output_type: out.outputType },
        metrics: { duration_ms: durationMs, api_calls: out.apiCalls },
        ...(out.sideEffects.length > 0 ? { side_effects: out.sideEffects } : {}),
        telemetry_link: { trace_id: span.trace_id, span_id: span.span_id, events_emitted: steps.length },
      };
    } catch (err) {
      const error =
        err instanceof CraError
          ? err
          : new CraError('EXECUTION_FAILED', 'the executor failed unexpectedly', { cause: err });
      if (error.code !== 'EXECUTION_FAILED' && error.code !== 'TIMEOUT' && error.code !== 'CONSTRAINT_VIOLATED') {
        throw error;
      }
      const durationMs = Math.round((performance.now() - t0) * 1000) / 1000;
      const steps: TraceStep[] = [
        ...leading,
        startStep,
        {
          type: 'carp.action.failed',
          severity: 'error',
          payload: {
            execution_id: executionId,
            action_id: authorized.grant.action_id,
            action_type: authorized.grant.action_type,
            error_code: error.code,
            error_message: error.message,
            retriable: error.retriable,
            duration_ms: durationMs,
          },
        },
      ];
      await emit(steps);
      return {
        ...base,
        timestamp: isoTime(this.deps.clock.now()),
        status: error.code === 'TIMEOUT' ? 'timeout' : 'failed',
        error: {
          code: error.code,
          message: error.message,
          ...(error.details ? { details: error.details } : {}),
          retriable: error.retriable,
        },
        metrics: { duration_ms: durationMs },
        telemetry_link: { trace_id: span.trace_id, span_id: span.span_id, events_emitted: steps.length },
      };
    }
  }

  /** Re-runs the checks of a stored execute request at approval time and runs it. */
  async runApproved(
    ctx: CallContext,
    request: ExecuteRequest,
    executionId: string,
    span: SpanContext,
    leading: TraceStep[],
  ): Promise<CARPExecutionResult> {
    const record = await this.deps.stores.resolutions.get(request.action.resolution_id);
    if (!record)
      throw new CraError('RESOLUTION_NOT_FOUND', `resolution ${request.action.resolution_id} no longer exists`);
    const authorized = authorizeExecution({
      resolution: record.resolution,
      resolutionAgentId: record.agent_id,
      requestRiskTier: record.risk_tier,
      request,
      principal: ctx.principal,
      index: this.deps.bundles.current,
      now: this.deps.clock.now(),
      approvalTimeoutSeconds: this.deps.approvalTimeoutSeconds,
      ignoreExpiry: true,
    });
    return this.run({ request, record, authorized, span }, executionId, leading);
  }
}

/**
 * The resolve operation (CRA-SPEC §3): validate, bind to the session, answer from the cache or
 * plan and materialise, store where every replica can find it, and emit every step to TRACE
 * before replying.
 */
import {
  cacheKeyParts,
  canonicalJson,
  CraError,
  goalHash,
  materializeResolution,
  planResolution,
  reissueResolution,
  resolutionCompletedStep,
  sha256Hex,
  validateCarpRequest,
  type CARPResolution,
  type Clock,
  type IdSource,
  type RedactionRule,
  type ResolveRequest,
  type ResolverDefaults,
  type TraceStep,
} from '@cra/core';
import type { Stores } from '../store/ports.js';
import type { BundleHolder } from './bundle-holder.js';
import { operationSpan, type CallContext } from './call-context.js';
import { inOperationSpan } from './otel.js';
import type { Sessions } from './sessions.js';
import type { SpanContext, Tracer } from './tracer.js';

export interface ResolveObserver {
  resolved(decision: string, seconds: number, cacheHit: boolean): void;
}

export interface ResolveDeps {
  stores: Stores;
  bundles: BundleHolder;
  tracer: Tracer;
  sessions: Sessions;
  ids: IdSource;
  clock: Clock;
  defaults: ResolverDefaults;
  observer?: ResolveObserver;
}

/** Streaming callbacks: blocks and grants as they are decided, before the resolution. */
export interface ResolveProgress {
  onStep?(step: TraceStep): void;
  /**
   * The decision is made (fresh or from the cache): every check that can refuse the request has
   * passed; storing the resolution and its TRACE events follows. Called once, synchronously.
   */
  onDecided?(resolution: CARPResolution): void;
  onResolution?(resolution: CARPResolution): void;
}

/** The caller acts as an agent (role `agent`) and is the request's requester. */
export function assertRequester(ctx: CallContext, agentId: string): void {
  if (!ctx.principal.roles.includes('agent')) {
    throw new CraError('FORBIDDEN', 'resolve, execute and validate need the agent role', {
      details: { roles: ctx.principal.roles },
    });
  }
  if (agentId !== ctx.principal.agentId) {
    throw new CraError('FORBIDDEN', `requester.agent_id "${agentId}" is not the authenticated agent`, {
      details: { authenticated_agent: ctx.principal.agentId },
    });
  }
}

export function invalid(violations: { code: string; path: string; message: string }[]): CraError {
  return new CraError('INVALID_REQUEST', `request has ${violations.length} violation(s)`, {
    details: { violations },
  });
}

function receivedStep(request: ResolveRequest): TraceStep {
  return {
    type: 'carp.request.received',
    payload: {
      request_id: request.request_id,
      operation: request.operation,
      goal: request.task.goal,
      goal_hash: request.task.goal_hash ?? goalHash(request.task.goal),
      ...(request.task.risk_tier ? { risk_tier: request.task.risk_tier } : {}),
      ...(request.task.context_hints ? { context_hints: request.task.context_hints } : {}),
      ...(request.scope ? { scope: request.scope } : {}),
      ...(request.requester.agent_type ? { agent_type: request.requester.agent_type } : {}),
    },
  };
}

export class ResolveOperation {
  constructor(private readonly deps: ResolveDeps) {}

  /** A stored resolution, readable by the agent it was issued to (and admins, auditors). */
  async get(ctx: CallContext, resolutionId: string): Promise<CARPResolution> {
    const record = await this.deps.stores.resolutions.get(resolutionId);
    const p = ctx.principal;
    if (!record || (record.agent_id !== p.agentId && !p.roles.includes('admin') && !p.roles.includes('auditor'))) {
      throw new CraError('RESOLUTION_NOT_FOUND', `resolution ${resolutionId} does not exist`);
    }
    return record.resolution;
  }

  async run(ctx: CallContext, body: unknown, progress: ResolveProgress = {}): Promise<CARPResolution> {
    const violations = validateCarpRequest(body, 'resolve');
    if (violations.length > 0) {
      const span = operationSpan(this.deps.ids, undefined, ctx.traceparent);
      await this.deps.sessions.recordInvalid(ctx.principal, span, body, 'resolve', violations);
      throw invalid(violations);
    }
    const request = body as ResolveRequest;
    assertRequester(ctx, request.requester.agent_id);
    return inOperationSpan(
      'cra.resolve',
      this.deps.ids,
      request.telemetry,
      ctx.traceparent,
      { 'cra.request_id': request.request_id, 'cra.operation': 'resolve' },
      async (span, otel) => {
        const resolution = await this.resolveIn(ctx, request, span, progress);
        otel.setAttribute('cra.decision', resolution.decision.type);
        otel.setAttribute('cra.resolution_id', resolution.resolution_id);
        return resolution;
      },
    );
  }

  private async resolveIn(
    ctx: CallContext,
    request: ResolveRequest,
    span: SpanContext,
    progress: ResolveProgress,
  ): Promise<CARPResolution> {
    const { ids, clock, stores, tracer } = this.deps;
    const started = performance.now();
    await this.deps.sessions.ensure(ctx.principal, span, request.requester.session_id, request.requester.agent_type);

    const index = this.deps.bundles.current;
    const risk = request.task.risk_tier ?? this.deps.defaults.riskTier;
    const cacheKey = sha256Hex(canonicalJson(cacheKeyParts(request, ctx.principal.agentId, index.version, risk)));
    const head: TraceStep[] = [
      receivedStep(request),
      { type: 'carp.request.validated', payload: { request_id: request.request_id } },
    ];

    const cached = await stores.resolutionCache.get(cacheKey);
    if (cached) {
      const now = clock.now();
      const resolution = reissueResolution(cached, request, ids, now, {
        trace_id: span.trace_id,
        span_id: span.span_id,
        events_emitted: 0,
      });
      const steps: TraceStep[] = [
        ...head,
        {
          type: 'carp.resolution.cache_hit',
          payload: { resolution_id: resolution.resolution_id, cached_resolution_id: cached.resolution_id },
        },
      ];
      return this.finish({ ctx, request, span, resolution, steps, risk, rules: [], started, cacheHit: true, progress });
    }

    const now = clock.now();
    let plan;
    try {
      plan = planResolution({ request, index, principal: ctx.principal, now, defaults: this.deps.defaults });
    } catch (err) {
      if (err instanceof CraError) {
        await tracer.emit(request.requester.session_id, span, [
          ...head,
          { type: 'carp.resolution.started', payload: { request_id: request.request_id } },
          {
            type: 'error.policy',
            severity: 'warn',
            payload: { request_id: request.request_id, error_code: err.code, error_message: err.message },
          },
        ]);
      }
      throw err;
    }
    const materialized = materializeResolution({
      plan,
      request,
      ids,
      now,
      telemetry: { trace_id: span.trace_id, span_id: span.span_id, events_emitted: 0 },
    });
    const steps: TraceStep[] = [
      ...head,
      { type: 'carp.resolution.started', payload: { request_id: request.request_id, bundle_version: index.version } },
      ...plan.steps,
      ...materialized.steps,
    ];
    for (const step of steps) progress.onStep?.(step);
    const resolution = materialized.resolution;
    // A cache never fails its caller (a failed write is reported, and reads as a miss later), so
    // the entry is written alongside the resolution record: with Redis, their round trips overlap.
    const cacheWrite = plan.cacheable
      ? stores.resolutionCache.set(cacheKey, resolution, Date.parse(resolution.ttl.resolution_expires_at) - now)
      : undefined;
    return this.finish({
      ctx,
      request,
      span,
      resolution,
      steps,
      risk,
      rules: plan.redactions,
      started,
      cacheHit: false,
      progress,
      cacheWrite,
    });
  }

  private async finish(input: {
    ctx: CallContext;
    request: ResolveRequest;
    span: SpanContext;
    resolution: CARPResolution;
    steps: TraceStep[];
    risk: ResolveRequest['task']['risk_tier'] & string;
    rules: RedactionRule[];
    started: number;
    cacheHit: boolean;
    progress: ResolveProgress;
    cacheWrite?: Promise<void> | undefined;
  }): Promise<CARPResolution> {
    const { request, span, steps, rules } = input;
    input.progress.onDecided?.(input.resolution);
    const completed = resolutionCompletedStep(input.resolution);
    const total = steps.length + 1;
    const resolution: CARPResolution = {
      ...input.resolution,
      telemetry_link: { trace_id: span.trace_id, span_id: span.span_id, events_emitted: total },
    };
    await Promise.all([
      input.cacheWrite,
      this.deps.stores.resolutions.put({ resolution, agent_id: input.ctx.principal.agentId, risk_tier: input.risk }),
    ]);
    await this.deps.tracer.emit(request.requester.session_id, span, [...steps, completed], rules);
    this.deps.observer?.resolved(resolution.decision.type, (performance.now() - input.started) / 1000, input.cacheHit);
    input.progress.onResolution?.(resolution);
    return resolution;
  }
}

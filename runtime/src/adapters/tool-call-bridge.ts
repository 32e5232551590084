/**
 * Turns the tool calls a model made on a platform into CARP executes (CRA-SPEC §5) through the
 * one decision engine (`cra.executor.execute`): the same checks, rate limits, approvals and
 * TRACE events as `POST /v1/execute`. For each call:
 * 1. `adapter.call.received` is recorded in the resolution's session (tool name, call id, the
 *    grant it stands for, or why it is refused);
 * 2. the tool name is looked up in the resolution's tool-name table (atlas `toolMappings`), never
 *    parsed back into an action type; an unknown name is refused with ACTION_NOT_PERMITTED
 *    (a denied action's name says why it was denied), arguments that are not a JSON object with
 *    INVALID_REQUEST — nothing runs in either case;
 * 3. otherwise a full CARPRequest is built — fresh UUIDv7 `request_id`, the grant's real
 *    `action_id` and `action_type`, the resolution id and session, the adapter span as parent,
 *    and `tool-call:<call id>` as idempotency key so a repeated call never runs twice — and
 *    executed; the result or refusal becomes the tool result the model reads.
 * Calls run one after another, in the order the model made them.
 */
import {
  CARP_VERSION,
  CraError,
  denialNames,
  executionOutcome,
  grantNames,
  isoTime,
  mappingsFromBundle,
  refusedOutcome,
  sha256Hex,
  type ActionDenial,
  type ActionPermission,
  type CARPResolution,
  type Clock,
  type ExecuteRequest,
  type IdSource,
  type ParsedToolCall,
  type Platform,
  type ToolNameTable,
  type ToolOutcome,
  type ToolOutcomeError,
  type TraceStep,
  type Violation,
} from '@cra/core';
import type { CallContext } from '../domain/call-context.js';
import type { Cra } from '../domain/cra.js';
import { inOperationSpan } from '../domain/otel.js';
import type { SpanContext } from '../domain/tracer.js';
import { adapterParent, ownResolution } from './resolution-access.js';

export interface BridgeDeps {
  cra: Cra;
  ids: IdSource;
  clock: Clock;
}

interface Tables {
  resolution: CARPResolution;
  grants: ToolNameTable<ActionPermission>;
  denials: ToolNameTable<ActionDenial>;
}

const MAX_IDEMPOTENCY_KEY = 255;

/** `tool-call:<id>`, hashed when the platform's id is too long for an idempotency key. */
export function idempotencyKeyFor(callId: string): string {
  const key = `tool-call:${callId}`;
  return key.length <= MAX_IDEMPOTENCY_KEY ? key : `tool-call:sha256:${sha256Hex(callId)}`;
}

/** A CraError from execute as the error the model reads. */
export function errorOfRefusal(err: CraError): ToolOutcomeError {
  const details = (err.details ?? {}) as { violations?: unknown; policy_refs?: unknown; remediation?: unknown };
  const violations =
    'violations' in err && Array.isArray((err as { violations?: unknown }).violations)
      ? (err as { violations: Violation[] }).violations
      : Array.isArray(details.violations)
        ? (details.violations as Violation[])
        : [];
  return {
    code: err.code,
    message: err.message,
    ...(violations.length > 0 ? { violations } : {}),
    retriable: err.retriable,
    ...(err.retryAfterSeconds !== undefined ? { retry_after_seconds: err.retryAfterSeconds } : {}),
    ...(Array.isArray(details.policy_refs) ? { policy_refs: details.policy_refs as string[] } : {}),
    ...(typeof details.remediation === 'string' ? { remediation: details.remediation } : {}),
  };
}

/** Why a call to a granted tool cannot run as sent (arguments unreadable), if it cannot. */
function argumentsRefusal(call: ParsedToolCall): ToolOutcomeError | undefined {
  if (call.arguments && !call.error) return undefined;
  return {
    code: call.error?.code ?? 'INVALID_REQUEST',
    message: call.error?.message ?? 'the call carries no arguments',
    ...(call.error ? { violations: call.error.violations } : {}),
    retriable: false,
  };
}

export class ToolCallBridge {
  constructor(private readonly deps: BridgeDeps) {}

  /**
   * Runs `calls` made against one of the caller's resolutions. Request-level problems (no such
   * resolution for this agent, an ended session) throw; everything about a single call becomes
   * its outcome.
   */
  async run(
    ctx: CallContext,
    platform: Platform,
    resolutionId: string,
    calls: readonly ParsedToolCall[],
  ): Promise<ToolOutcome[]> {
    const { cra, ids } = this.deps;
    const resolution = await ownResolution(cra, ctx, resolutionId);
    const mappingsOf = mappingsFromBundle(cra.bundles.current);
    const tables: Tables = {
      resolution,
      grants: grantNames(resolution, platform, mappingsOf),
      denials: denialNames(resolution, platform, mappingsOf),
    };
    return inOperationSpan(
      'cra.adapter.calls',
      ids,
      adapterParent(ctx, resolution),
      ctx.traceparent,
      { 'cra.platform': platform, 'cra.resolution_id': resolution.resolution_id, 'cra.tool_calls': calls.length },
      async (span) => {
        await cra.sessions.ensure(ctx.principal, span, resolution.session_id);
        const outcomes: ToolOutcome[] = [];
        for (const call of calls) outcomes.push(await this.one(ctx, platform, tables, call, span));
        return outcomes;
      },
    );
  }

  private async one(
    ctx: CallContext,
    platform: Platform,
    tables: Tables,
    call: ParsedToolCall,
    span: SpanContext,
  ): Promise<ToolOutcome> {
    const { resolution } = tables;
    const grant = tables.grants.subjectOf(call.name);
    const ref = {
      call_id: call.call_id,
      name: call.name,
      ...(grant ? { action_id: grant.action_id, action_type: grant.action_type } : {}),
    };
    const refusal = grant ? argumentsRefusal(call) : this.unknownTool(tables, call.name);
    await this.received(resolution, span, platform, call, grant, refusal);
    if (refusal || !grant || !call.arguments) return refusedOutcome(ref, refusal!);

    const request: ExecuteRequest = {
      carp_version: CARP_VERSION,
      request_id: this.deps.ids.uuid(),
      timestamp: isoTime(this.deps.clock.now()),
      operation: 'execute',
      requester: { agent_id: ctx.principal.agentId, session_id: resolution.session_id },
      action: {
        action_id: grant.action_id,
        action_type: grant.action_type,
        parameters: call.arguments,
        resolution_id: resolution.resolution_id,
      },
      telemetry: { trace_id: span.trace_id, parent_span_id: span.span_id },
      ...(call.call_id && platform !== 'mcp' ? { idempotency_key: idempotencyKeyFor(call.call_id) } : {}),
    };
    try {
      return executionOutcome(ref, await this.deps.cra.executor.execute(ctx, request));
    } catch (err) {
      if (!(err instanceof CraError)) throw err;
      return refusedOutcome(ref, errorOfRefusal(err));
    }
  }

  private unknownTool(tables: Tables, name: string): ToolOutcomeError {
    const denial = tables.denials.subjectOf(name);
    if (denial) {
      return {
        code: 'ACTION_NOT_PERMITTED',
        message: `${name} (${denial.action_type}) is denied for this task: ${denial.reason}`,
        retriable: false,
        ...(denial.policy_refs.length > 0 ? { policy_refs: denial.policy_refs } : {}),
        ...(denial.remediation ? { remediation: denial.remediation } : {}),
      };
    }
    const granted = tables.grants.names().sort();
    return {
      code: 'ACTION_NOT_PERMITTED',
      message: `no tool named "${name}" is granted for this task; the granted tools are: ${granted.length > 0 ? granted.join(', ') : 'none'}`,
      retriable: false,
    };
  }

  private async received(
    resolution: CARPResolution,
    span: SpanContext,
    platform: Platform,
    call: ParsedToolCall,
    grant: ActionPermission | undefined,
    refusal: ToolOutcomeError | undefined,
  ): Promise<void> {
    const step: TraceStep = {
      type: 'adapter.call.received',
      ...(refusal ? { severity: 'warn' as const } : {}),
      payload: {
        platform,
        resolution_id: resolution.resolution_id,
        tool_name: call.name,
        call_id: call.call_id,
        known: grant !== undefined,
        ...(grant
          ? { action_id: grant.action_id, action_type: grant.action_type, atlas_action_id: grant.atlas_action_id }
          : {}),
        ...(refusal ? { error_code: refusal.code, reason: refusal.message } : {}),
      },
    };
    await this.deps.cra.tracer.emit(resolution.session_id, span, [step]);
  }
}

/**
 * What an MCP tool call does. Every call runs through the one decision engine (`cra.resolver`,
 * `cra.executor`) as the authenticated agent, in the MCP session's CARP session, and is recorded
 * on that session's TRACE: `adapter.call.received` first (as the other platform adapters record
 * it), then the operation's own `carp.*` events, in one OpenTelemetry span per call
 * (`tools/call <tool>`) whose ids the events carry.
 *
 * - `cra_resolve` resolves; the answer becomes the session's current resolution.
 * - A grant's tool name executes that grant of the current resolution (looked up in the
 *   resolution's tool-name table: never a fabricated action id).
 * - `cra_execute` / `cra_validate` name a grant by tool name, action type or grant id, of the
 *   current resolution or of `resolution_id`.
 * - Any other name is refused with ACTION_NOT_PERMITTED (a denied action's name says why); the
 *   refusal is on the chain as `adapter.call.received` with `known: false` and the error code.
 */
import {
  CARP_VERSION,
  createAjv,
  CraError,
  isoTime,
  toViolations,
  type ActionPermission,
  type CARPResolution,
  type IdSource,
  type TraceStep,
  type Violation,
} from '@cra/core';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { CallContext } from '../domain/call-context.js';
import type { Cra } from '../domain/cra.js';
import { inOperationSpan } from '../domain/otel.js';
import type { SpanContext } from '../domain/tracer.js';
import { toolError, toolFailure, toolResult, type Logger } from './errors.js';
import { resourceUri } from './resources.js';
import type { Current, McpSession, Notify } from './session.js';
import { craTools, CRA_TOOL, CRA_TOOL_NAMES, grantTables, META } from './tools.js';

export interface CallDeps {
  cra: Cra;
  ids: IdSource;
  log: Logger;
  now?: () => number;
}

export interface ToolCall {
  name: string;
  arguments: Record<string, unknown>;
  /** The JSON-RPC id of the `tools/call` request. */
  callId: string;
  meta: Record<string, unknown> | undefined;
  /** Sends a notification on the call's own stream (the POST's SSE stream, or stdio). */
  notify: Notify;
}

export interface ResolveArguments {
  goal: string;
  risk_tier?: string;
  context_hints?: string[];
  scope?: Record<string, unknown>;
}

/** How the request reached CRA, for `adapter.call.received`. */
export interface CallOrigin {
  method: 'tools/call' | 'prompts/get';
  name: string;
  callId: string;
  meta: Record<string, unknown> | undefined;
}

const ajv = createAjv();
const validators = new Map(craTools().map((tool) => [tool.name, ajv.compile(tool.inputSchema)]));

/** Execution statuses that are a failed call for the model (the execution itself is the result). */
const FAILED_STATUSES = new Set(['failed', 'timeout', 'cancelled', 'denied']);

/** Violation paths of a resolve request, as pointers into the `cra_resolve` arguments. */
function argumentPath(path: string): string {
  if (path.startsWith('/task/')) return path.slice('/task'.length);
  return path === '/task' ? '' : path;
}

function invalidArguments(violations: Violation[]): CraError {
  return new CraError('INVALID_REQUEST', `the arguments have ${violations.length} violation(s)`, {
    details: { violations },
  });
}

interface Received {
  resolution?: CARPResolution;
  grant?: ActionPermission;
  known: boolean;
  refusal?: CraError;
  /** For calls through cra_execute / cra_validate: the grant the call names. */
  target?: string;
}

export class ToolCalls {
  private readonly now: () => number;

  constructor(
    private readonly deps: CallDeps,
    private readonly session: McpSession,
  ) {
    this.now = deps.now ?? Date.now;
  }

  private get ctx(): CallContext {
    return { principal: this.session.principal };
  }

  async call(call: ToolCall): Promise<CallToolResult> {
    const validate = validators.get(call.name);
    if (validate && !validate(call.arguments)) {
      return toolError(invalidArguments(toViolations(validate.errors, 'INVALID_REQUEST')));
    }
    try {
      switch (call.name) {
        case CRA_TOOL.resolve:
          return await this.resolve(call);
        case CRA_TOOL.execute:
        case CRA_TOOL.validate:
          return await this.named(call);
        default:
          return await this.grant(call);
      }
    } catch (err) {
      return toolFailure(err, this.deps.log);
    }
  }

  /** One span per call, joining the caller's trace (`_meta.traceparent`, else the HTTP header). */
  private inSpan<T>(origin: CallOrigin, fn: (span: SpanContext) => Promise<T>): Promise<T> {
    const fromMeta = origin.meta?.traceparent;
    const traceparent = typeof fromMeta === 'string' ? fromMeta : this.session.traceparent;
    return inOperationSpan(
      `${origin.method} ${origin.name}`,
      this.deps.ids,
      undefined,
      traceparent,
      {
        'mcp.method.name': origin.method,
        ...(origin.method === 'tools/call' ? { 'gen_ai.tool.name': origin.name } : { 'mcp.prompt.name': origin.name }),
        ...(this.session.sessionId ? { 'mcp.session.id': this.session.sessionId } : {}),
        'jsonrpc.request.id': origin.callId,
      },
      fn,
    );
  }

  private requester(sessionId: string) {
    return {
      agent_id: this.session.principal.agentId,
      session_id: sessionId,
      ...(this.session.agentType ? { agent_type: this.session.agentType } : {}),
    };
  }

  private envelope(span: SpanContext) {
    return {
      carp_version: CARP_VERSION,
      request_id: this.deps.ids.uuid(),
      timestamp: isoTime(this.now()),
      telemetry: { trace_id: span.trace_id, parent_span_id: span.span_id },
    };
  }

  /** Starts (or checks) the CARP session and records the call on its chain. */
  private async received(sessionId: string, span: SpanContext, origin: CallOrigin, what: Received): Promise<void> {
    const { resolution, grant, refusal } = what;
    await this.deps.cra.sessions.ensure(this.session.principal, span, sessionId, this.session.agentType);
    const step: TraceStep = {
      type: 'adapter.call.received',
      ...(refusal ? { severity: 'warn' as const } : {}),
      payload: {
        platform: 'mcp',
        method: origin.method,
        ...(resolution ? { resolution_id: resolution.resolution_id } : {}),
        tool_name: origin.name,
        ...(what.target !== undefined ? { target: what.target } : {}),
        call_id: origin.callId,
        known: what.known,
        ...(grant
          ? { action_id: grant.action_id, action_type: grant.action_type, atlas_action_id: grant.atlas_action_id }
          : {}),
        ...(refusal ? { error_code: refusal.code, reason: refusal.message } : {}),
      },
    };
    await this.deps.cra.tracer.emit(sessionId, span, [step]);
  }

  // -------------------------------------------------------------------------------------------
  // cra_resolve (and prompts)

  private async resolve(call: ToolCall): Promise<CallToolResult> {
    let resolution: CARPResolution;
    try {
      resolution = await this.runResolve(call.arguments as unknown as ResolveArguments, call, call.notify);
    } catch (err) {
      if (err instanceof CraError && err.code === 'INVALID_REQUEST') {
        const violations = (err.details as { violations?: Violation[] } | undefined)?.violations ?? [];
        return toolError(invalidArguments(violations.map((v) => ({ ...v, path: argumentPath(v.path) }))));
      }
      throw err;
    }
    return toolResult({ summary: this.summary(resolution), resolution });
  }

  /**
   * A real CARP resolve in the session. When the tool or resource list changes, the client is
   * told on the call's own stream. A sessionless request resolves in a new CARP session.
   */
  async runResolve(
    args: ResolveArguments,
    call: Pick<ToolCall, 'name' | 'callId' | 'meta'> & { method?: CallOrigin['method'] },
    notify: Notify,
  ): Promise<CARPResolution> {
    const origin: CallOrigin = {
      method: call.method ?? 'tools/call',
      name: call.name,
      callId: call.callId,
      meta: call.meta,
    };
    const bound = this.session.sessionId;
    const sessionId = bound ?? this.deps.ids.uuid();
    return this.session.exclusive(() =>
      this.inSpan(origin, async (span) => {
        const before = bound === undefined ? undefined : await this.session.seen();
        await this.received(sessionId, span, origin, { known: true });
        const resolution = await this.deps.cra.resolver.run(this.ctx, {
          ...this.envelope(span),
          operation: 'resolve',
          requester: this.requester(sessionId),
          task: {
            goal: args.goal,
            ...(args.risk_tier ? { risk_tier: args.risk_tier } : {}),
            ...(args.context_hints ? { context_hints: args.context_hints } : {}),
          },
          ...(args.scope ? { scope: args.scope } : {}),
        });
        if (before) await this.session.announce(before, this.session.digests(this.session.offer(resolution)), notify);
        return resolution;
      }),
    );
  }

  private summary(resolution: CARPResolution): Record<string, unknown> {
    const tables = grantTables(resolution, this.deps.cra.bundles.current);
    const decision = resolution.decision;
    return {
      resolution_id: resolution.resolution_id,
      session_id: resolution.session_id,
      decision: decision.type,
      ...('reason' in decision && decision.reason ? { reason: decision.reason } : {}),
      ...(decision.type === 'insufficient_context' ? { missing_domains: decision.missing_domains } : {}),
      tools: tables.table
        .names()
        .sort()
        .map((name) => {
          const grant = tables.table.subjectOf(name)!;
          return {
            name,
            action_type: grant.action_type,
            risk_tier: grant.risk_tier,
            requires_approval: grant.requires_approval,
          };
        }),
      denied: resolution.denied_actions.map((d) => ({ action_type: d.action_type, reason: d.reason })),
      resources: resolution.context_blocks.map((b) => resourceUri(b)),
      expires_at: resolution.ttl.resolution_expires_at,
      refresh_hint_seconds: resolution.ttl.refresh_hint_seconds,
      ...(this.session.sessionId === undefined
        ? {
            note:
              'This client keeps no Mcp-Session-Id, so the grants are not listed as tools: call them with ' +
              'cra_execute and this resolution_id.',
          }
        : {}),
    };
  }

  // -------------------------------------------------------------------------------------------
  // grants

  /** A grant's own tool: the grant of that name in the current resolution. */
  private async grant(call: ToolCall): Promise<CallToolResult> {
    const current = await this.session.current();
    const grant = CRA_TOOL_NAMES.has(call.name) ? undefined : current.tables?.table.subjectOf(call.name);
    if (!current.resolution || !grant) return this.notPermitted(call, current);
    return this.execute(call, current.resolution, grant, 'execute');
  }

  /** `cra_execute` / `cra_validate`: the grant named by tool, action_type or action_id. */
  private async named(call: ToolCall): Promise<CallToolResult> {
    const args = call.arguments as {
      resolution_id?: string;
      tool?: string;
      action_type?: string;
      action_id?: string;
      parameters: Record<string, unknown>;
    };
    const target = args.tool ?? args.action_type ?? args.action_id;
    if (target === undefined) {
      const message = 'name the grant: tool, action_type or action_id';
      return toolError(invalidArguments([{ code: 'INVALID_REQUEST', path: '', message }]));
    }
    const resolution =
      args.resolution_id !== undefined
        ? await this.deps.cra.resolver.get(this.ctx, args.resolution_id)
        : (await this.session.current()).resolution;
    const operation = call.name === CRA_TOOL.validate ? 'validate' : 'execute';
    const inner = { ...call, arguments: args.parameters };
    if (!resolution) return this.notPermitted(inner, { tools: [] }, target);
    const tables = grantTables(resolution, this.deps.cra.bundles.current);
    const grant = resolution.allowed_actions.find(
      (g) =>
        (args.action_id === undefined || g.action_id === args.action_id) &&
        (args.action_type === undefined || g.action_type === args.action_type) &&
        (args.tool === undefined || tables.table.subjectOf(args.tool) === g),
    );
    if (!grant) return this.notPermitted(inner, { resolution, tables, tools: [] }, target);
    return this.execute(inner, resolution, grant, operation, target);
  }

  private execute(
    call: ToolCall,
    resolution: CARPResolution,
    grant: ActionPermission,
    operation: 'execute' | 'validate',
    target?: string,
  ): Promise<CallToolResult> {
    const origin: CallOrigin = { method: 'tools/call', name: call.name, callId: call.callId, meta: call.meta };
    const sessionId = this.session.sessionId ?? resolution.session_id;
    return this.inSpan(origin, async (span) => {
      await this.received(sessionId, span, origin, {
        resolution,
        grant,
        known: true,
        ...(target !== undefined ? { target } : {}),
      });
      const key = call.meta?.[META.idempotencyKey];
      const body = {
        ...this.envelope(span),
        operation,
        requester: this.requester(sessionId),
        action: {
          action_id: grant.action_id,
          action_type: grant.action_type,
          parameters: call.arguments,
          resolution_id: resolution.resolution_id,
        },
        ...(operation === 'execute' && typeof key === 'string' ? { idempotency_key: key } : {}),
      };
      if (operation === 'validate') {
        return toolResult({ ...(await this.deps.cra.executor.validate(this.ctx, body)) });
      }
      const result = await this.deps.cra.executor.execute(this.ctx, body);
      return toolResult({ ...result }, FAILED_STATUSES.has(result.status));
    });
  }

  /**
   * A name that is no grant of the resolution: refused before anything runs. A denied action's
   * name says why it was denied. Recorded when there is a session to record it in.
   */
  private async notPermitted(call: ToolCall, current: Current, target?: string): Promise<CallToolResult> {
    const name = target ?? call.name;
    const { resolution } = current;
    const denial = current.tables?.denials.subjectOf(name);
    const granted = current.tables?.table.names().sort() ?? [];
    const message = denial
      ? `${name} (${denial.action_type}) is denied for this task: ${denial.reason}`
      : resolution
        ? `no tool named "${name}" is granted by resolution ${resolution.resolution_id}; the granted tools are: ` +
          `${granted.length > 0 ? granted.join(', ') : 'none'} (resolve again with cra_resolve for another goal)`
        : `no resolution in this session grants "${name}"; call cra_resolve first`;
    const error = new CraError('ACTION_NOT_PERMITTED', message, {
      details: {
        tool: name,
        ...(resolution ? { resolution_id: resolution.resolution_id } : {}),
        ...(denial
          ? {
              action_type: denial.action_type,
              policy_refs: denial.policy_refs,
              permanent: denial.permanent,
              ...(denial.remediation ? { remediation: denial.remediation } : {}),
            }
          : {}),
      },
    });
    const sessionId = this.session.sessionId ?? resolution?.session_id;
    if (sessionId !== undefined) {
      const origin: CallOrigin = { method: 'tools/call', name: call.name, callId: call.callId, meta: call.meta };
      await this.inSpan(origin, (span) =>
        this.received(sessionId, span, origin, {
          ...(resolution ? { resolution } : {}),
          known: false,
          refusal: error,
          ...(target !== undefined ? { target } : {}),
        }),
      );
    }
    return toolError(error);
  }
}

/**
 * Trace replay (CRA-SPEC §7): re-run every recorded resolve of a trace against a bundle built
 * from the given atlases, in this process on an in-memory runtime, and diff the events each
 * resolve produced then and now.
 *
 * What is replayed: each `carp.request.received` event with operation `resolve` carries the
 * request (goal, goal_hash, risk_tier, context_hints, scope, agent_type); the agent is the one
 * that started the session (`session.started` payload.agent_id). The events of one operation
 * share its span, so a resolve's events are those of its span from `carp.request.received` to
 * `carp.resolution.completed` (or the `error.*` event that ended it).
 *
 * The request runs through the runtime's domain (`cra.resolver.run`) as the recorded agent: its
 * AgentIdentity from `--identities` when one exists (labels, roles, atlas selector and risk
 * ceiling then apply exactly as they did), else the no-auth principal.
 */
import {
  CARP_VERSION,
  diffTraces,
  isCraError,
  isoTime,
  randomIds,
  type RiskTier,
  type TraceDiff,
  type TraceEvent,
} from '@cra/core';
import { unauthenticatedPrincipal } from '../auth/identities.js';
import { loadConfig } from '../config/load.js';
import { CliError } from './errors.js';

export const RESOLVE_START = 'carp.request.received';
export const RESOLVE_END = 'carp.resolution.completed';

export interface RecordedResolve {
  sessionId: string;
  agentId: string;
  request: Record<string, unknown>;
  events: TraceEvent[];
}

const isEnd = (type: string): boolean => type === RESOLVE_END || type.startsWith('error.');

/** The events of each resolve in `events`, in order: one span, received … completed. */
export function resolveRanges(events: readonly TraceEvent[]): TraceEvent[][] {
  // Sessions in order of first appearance, each session's events by sequence.
  const order = new Map<string, number>();
  for (const e of events) if (!order.has(e.session_id)) order.set(e.session_id, order.size);
  const ordered = [...events].sort(
    (a, b) => order.get(a.session_id)! - order.get(b.session_id)! || a.sequence - b.sequence,
  );
  const ranges: TraceEvent[][] = [];
  ordered.forEach((start, i) => {
    if (start.event_type !== RESOLVE_START || start.payload.operation !== 'resolve') return;
    const range = [start];
    for (const next of ordered.slice(i + 1)) {
      if (next.session_id !== start.session_id || next.span_id !== start.span_id) continue;
      if (next.event_type === RESOLVE_START) break;
      range.push(next);
      if (isEnd(next.event_type)) break;
    }
    ranges.push(range);
  });
  return ranges;
}

/** The recorded resolves with the request each one carried and the agent of its session. */
export function recordedResolves(events: readonly TraceEvent[], fallbackAgent?: string): RecordedResolve[] {
  const agents = new Map<string, string>();
  for (const e of events) {
    const agent = e.payload.agent_id;
    if (e.event_type === 'session.started' && typeof agent === 'string') agents.set(e.session_id, agent);
  }
  return resolveRanges(events).map((range) => {
    const received = range[0]!;
    const agentId = agents.get(received.session_id) ?? fallbackAgent;
    if (agentId === undefined) {
      throw new CliError(
        `session ${received.session_id} has no session.started event, so its agent is unknown; pass --agent`,
      );
    }
    const p = received.payload;
    const task = {
      goal: p.goal,
      ...(p.goal_hash !== undefined ? { goal_hash: p.goal_hash } : {}),
      ...(p.risk_tier !== undefined ? { risk_tier: p.risk_tier } : {}),
      ...(p.context_hints !== undefined ? { context_hints: p.context_hints } : {}),
    };
    const request = {
      carp_version: CARP_VERSION,
      request_id: randomIds.uuid(),
      timestamp: isoTime(Date.now()),
      operation: 'resolve',
      requester: {
        agent_id: agentId,
        session_id: received.session_id,
        ...(typeof p.agent_type === 'string' ? { agent_type: p.agent_type } : {}),
      },
      task,
      ...(p.scope !== undefined ? { scope: p.scope } : {}),
    };
    return { sessionId: received.session_id, agentId, request, events: range };
  });
}

export const CACHE_HIT = 'carp.resolution.cache_hit';
const OUTCOME = new Set([RESOLVE_START, 'carp.request.validated', RESOLVE_END]);

/**
 * The two sides, resolve by resolve. A resolve answered from the resolution cache records
 * received → validated → cache_hit → completed instead of the full plan, and whether a cache
 * entry existed depends on what ran before (in any session of that runtime, not just this
 * trace). When either side of a pair was a cache hit, both are compared by their outcome:
 * the request, its validation, and the completed event (decision and counts).
 */
export function pairRanges(
  recorded: TraceEvent[][],
  replayed: TraceEvent[][],
): { expected: TraceEvent[]; actual: TraceEvent[]; outcomeOnly: number } {
  if (recorded.length !== replayed.length)
    return { expected: recorded.flat(), actual: replayed.flat(), outcomeOnly: 0 };
  const hit = (range: TraceEvent[]): boolean => range.some((e) => e.event_type === CACHE_HIT);
  const outcome = (range: TraceEvent[]): TraceEvent[] =>
    range.filter((e) => OUTCOME.has(e.event_type) || e.event_type.startsWith('error.'));
  let outcomeOnly = 0;
  const expected: TraceEvent[] = [];
  const actual: TraceEvent[] = [];
  recorded.forEach((e, i) => {
    const a = replayed[i]!;
    if (hit(e) || hit(a)) {
      outcomeOnly += 1;
      expected.push(...outcome(e));
      actual.push(...outcome(a));
    } else {
      expected.push(...e);
      actual.push(...a);
    }
  });
  return { expected, actual, outcomeOnly };
}

export interface ReplayOptions {
  atlases: string[];
  policies?: string[];
  identities?: string[];
  secretsDir?: string;
  defaultRisk?: RiskTier;
  agent?: string;
  ignore?: string[];
  onProgress?: (done: number, total: number) => void;
}

export interface ReplayReport {
  resolves: number;
  sessions: number;
  /** Resolves compared by outcome only, because one side was answered from the cache. */
  outcome_only: number;
  bundle_version: string;
  /** Problems in the replay's bundle sources (an invalid atlas is left out of the bundle). */
  warnings: string[];
  diff: TraceDiff;
}

export async function replayTrace(events: readonly TraceEvent[], options: ReplayOptions): Promise<ReplayReport> {
  const recorded = recordedResolves(events, options.agent);
  if (recorded.length === 0) {
    throw new CliError('the trace holds no resolve operation (no carp.request.received with operation resolve)');
  }
  const config = await loadConfig({
    env: {},
    overrides: {
      atlases: options.atlases,
      policies: options.policies,
      identities: options.identities,
      secretsDir: options.secretsDir,
      'resolver.riskTier': options.defaultRisk,
      'store.kind': 'memory',
      'auth.mode': 'insecure-none',
      watch: false,
      'log.level': 'silent',
    },
  });
  const { createRuntime } = await import('../runtime.js');
  const runtime = await createRuntime(config, { env: {} });
  try {
    const warnings = runtime.problems().map((p) => `${p.source}${p.path ? ` ${p.path}` : ''}: ${p.message}`);
    const sessions = new Set<string>();
    let done = 0;
    for (const r of recorded) {
      options.onProgress?.(done, recorded.length);
      const principal = runtime.identities.byAgentId(r.agentId) ?? unauthenticatedPrincipal(r.agentId);
      try {
        await runtime.cra.resolver.run({ principal }, r.request);
      } catch (err) {
        // A refused resolve still leaves its events; they are part of the comparison.
        if (!isCraError(err)) throw err;
      }
      sessions.add(r.sessionId);
      done += 1;
    }
    options.onProgress?.(done, recorded.length);
    const replayed: TraceEvent[] = [];
    for (const sessionId of sessions) replayed.push(...(await runtime.cra.stores.traces.read(sessionId)));
    const { expected, actual, outcomeOnly } = pairRanges(
      recorded.map((r) => r.events),
      resolveRanges(replayed),
    );
    return {
      resolves: recorded.length,
      sessions: sessions.size,
      outcome_only: outcomeOnly,
      bundle_version: runtime.cra.bundles.current.version,
      warnings,
      diff: diffTraces(expected, actual, { ...(options.ignore ? { ignore: options.ignore } : {}) }),
    };
  } finally {
    await runtime.close();
  }
}

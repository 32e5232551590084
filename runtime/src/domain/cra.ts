/**
 * The runtime's business logic behind every surface (HTTP, WebSocket, MCP, CLI): one decision
 * engine, one set of checks, one TRACE.
 */
import type { Clock, IdSource, Principal, ResolverDefaults, TraceSource } from '@cra/core';
import type { RateLimiter } from '../limits/types.js';
import type { Stores } from '../store/ports.js';
import { Approvals } from './approvals.js';
import type { BundleHolder } from './bundle-holder.js';
import { ExecuteOperation, type ActionRunner, type ExecuteObserver } from './execute.js';
import { ResolveOperation, type ResolveObserver } from './resolve.js';
import { Sessions } from './sessions.js';
import { Tracer, type PayloadRedactor } from './tracer.js';
import { Traces } from './traces.js';

export interface CraDeps {
  stores: Stores;
  bundles: BundleHolder;
  limiter: RateLimiter;
  runner: ActionRunner;
  ids: IdSource;
  clock: Clock;
  source: TraceSource;
  redact: PayloadRedactor;
  defaults: ResolverDefaults;
  principalFor(agentId: string): Principal;
  observer?: ResolveObserver & ExecuteObserver & { approvalsChanged?(): void };
}

export interface Cra {
  readonly tracer: Tracer;
  readonly sessions: Sessions;
  readonly resolver: ResolveOperation;
  readonly executor: ExecuteOperation;
  readonly approvals: Approvals;
  readonly traces: Traces;
  readonly bundles: BundleHolder;
  readonly stores: Stores;
  readonly limiter: RateLimiter;
  readonly startedAt: number;
}

export function createCra(deps: CraDeps): Cra {
  const tracer = new Tracer({
    store: deps.stores.traces,
    ids: deps.ids,
    clock: deps.clock,
    source: deps.source,
    redact: deps.redact,
  });
  const sessions = new Sessions(deps.stores.sessions, tracer, deps.ids, deps.clock, () => {
    const index = deps.bundles.current;
    return { atlases: index.atlases.map((a) => a.atlas.ref), bundle_version: index.version };
  });
  const resolver = new ResolveOperation({
    stores: deps.stores,
    bundles: deps.bundles,
    tracer,
    sessions,
    ids: deps.ids,
    clock: deps.clock,
    defaults: deps.defaults,
    ...(deps.observer ? { observer: deps.observer } : {}),
  });
  const executor = new ExecuteOperation({
    stores: deps.stores,
    bundles: deps.bundles,
    tracer,
    sessions,
    limiter: deps.limiter,
    runner: deps.runner,
    ids: deps.ids,
    clock: deps.clock,
    approvalTimeoutSeconds: deps.defaults.approvalTimeoutSeconds,
    ...(deps.observer ? { observer: deps.observer } : {}),
  });
  const approvals = new Approvals({
    stores: deps.stores,
    tracer,
    execute: executor,
    ids: deps.ids,
    clock: deps.clock,
    principalFor: deps.principalFor,
    ...(deps.observer?.approvalsChanged ? { onChange: () => deps.observer?.approvalsChanged?.() } : {}),
  });
  return {
    tracer,
    sessions,
    resolver,
    executor,
    approvals,
    traces: new Traces(deps.stores, sessions),
    bundles: deps.bundles,
    stores: deps.stores,
    limiter: deps.limiter,
    startedAt: deps.clock.now(),
  };
}

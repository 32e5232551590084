/**
 * Prometheus metrics (CRA-SPEC §10) on a dedicated registry, plus Node process metrics. Names are
 * constants; no unbounded label values (no agent or session ids).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TraceEvent } from '@cra/core';

export const METRICS = {
  resolutions: 'cra_resolutions_total',
  resolutionDuration: 'cra_resolution_duration_seconds',
  actions: 'cra_actions_total',
  actionDuration: 'cra_action_duration_seconds',
  cacheHits: 'cra_cache_hits_total',
  cacheMisses: 'cra_cache_misses_total',
  traceEvents: 'cra_trace_events_total',
  rateLimited: 'cra_rate_limited_total',
  approvalsPending: 'cra_approvals_pending',
  bundleInfo: 'cra_bundle_info',
  buildInfo: 'cra_build_info',
  rateLimiterMode: 'cra_rate_limiter_mode',
  storeUp: 'cra_store_up',
  outboxPending: 'cra_trace_outbox_pending',
  httpDuration: 'cra_http_request_duration_seconds',
  wsDropped: 'cra_ws_clients_dropped_total',
  checkpoints: 'cra_trace_checkpoints_total',
  loadShed: 'cra_load_shed_total',
} as const;

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface MetricsSources {
  approvalsPending(): Promise<number>;
  storeHealth(): Promise<Record<string, { ok: boolean }>>;
  outboxPending(): number;
  limiterMode(): string;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly resolutionsTotal: Counter<'decision'>;
  private readonly resolutionSeconds: Histogram<'cache'>;
  private readonly actionsTotal: Counter<'status'>;
  private readonly actionSeconds: Histogram<'status'>;
  private readonly cacheHits: Counter;
  private readonly cacheMisses: Counter;
  private readonly traceEvents: Counter<'type'>;
  private readonly rateLimitedTotal: Counter<'scope'>;
  private readonly bundleInfo: Gauge<'version'>;
  private readonly httpSeconds: Histogram<'method' | 'route' | 'status'>;
  private readonly wsDroppedTotal: Counter<'reason'>;
  private readonly checkpointsTotal: Counter;
  private readonly loadShedTotal: Counter;

  constructor(build: { version: string; revision: string }, sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'cra_' });
    this.resolutionsTotal = new Counter({
      name: METRICS.resolutions,
      help: 'Resolutions by decision',
      labelNames: ['decision'],
      registers,
    });
    this.resolutionSeconds = new Histogram({
      name: METRICS.resolutionDuration,
      help: 'Time to resolve, including TRACE persistence',
      labelNames: ['cache'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.actionsTotal = new Counter({
      name: METRICS.actions,
      help: 'Executions by status',
      labelNames: ['status'],
      registers,
    });
    this.actionSeconds = new Histogram({
      name: METRICS.actionDuration,
      help: 'Time to execute an action, checks and executor included',
      labelNames: ['status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.cacheHits = new Counter({ name: METRICS.cacheHits, help: 'Resolutions answered from the cache', registers });
    this.cacheMisses = new Counter({ name: METRICS.cacheMisses, help: 'Resolutions computed afresh', registers });
    this.traceEvents = new Counter({
      name: METRICS.traceEvents,
      help: 'TRACE events stored, by type',
      labelNames: ['type'],
      registers,
    });
    this.rateLimitedTotal = new Counter({
      name: METRICS.rateLimited,
      help: 'Requests refused by a rate limit, by scope',
      labelNames: ['scope'],
      registers,
    });
    new Gauge({
      name: METRICS.approvalsPending,
      help: 'Executions waiting for an approver',
      registers,
      async collect() {
        this.set(await sources.approvalsPending().catch(() => Number.NaN));
      },
    });
    this.bundleInfo = new Gauge({
      name: METRICS.bundleInfo,
      help: 'The runtime bundle being served',
      labelNames: ['version'],
      registers,
    });
    new Gauge({
      name: METRICS.buildInfo,
      help: 'Build of this runtime',
      labelNames: ['version', 'revision'],
      registers,
    }).set(build, 1);
    new Gauge({
      name: METRICS.rateLimiterMode,
      help: 'Rate limiter mode: 1 for the active one (redis, local, local-fallback)',
      labelNames: ['mode'],
      registers,
      collect() {
        this.reset();
        this.set({ mode: sources.limiterMode() }, 1);
      },
    });
    new Gauge({
      name: METRICS.storeUp,
      help: 'Backing stores reachable (1) or not (0)',
      labelNames: ['store'],
      registers,
      async collect() {
        this.reset();
        for (const [store, h] of Object.entries(await sources.storeHealth().catch(() => ({}))))
          this.set({ store }, h.ok ? 1 : 0);
      },
    });
    new Gauge({
      name: METRICS.outboxPending,
      help: 'Trace writes queued locally while Postgres is unreachable',
      registers,
      collect() {
        this.set(sources.outboxPending());
      },
    });
    this.httpSeconds = new Histogram({
      name: METRICS.httpDuration,
      help: 'HTTP request duration by route pattern',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.wsDroppedTotal = new Counter({
      name: METRICS.wsDropped,
      help: 'WebSocket trace subscribers dropped, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.checkpointsTotal = new Counter({ name: METRICS.checkpoints, help: 'Signed checkpoints written', registers });
    this.loadShedTotal = new Counter({
      name: METRICS.loadShed,
      help: 'Requests refused with 503 under load',
      registers,
    });
  }

  resolved(decision: string, seconds: number, cacheHit: boolean): void {
    this.resolutionsTotal.inc({ decision });
    this.resolutionSeconds.observe({ cache: cacheHit ? 'hit' : 'miss' }, seconds);
    (cacheHit ? this.cacheHits : this.cacheMisses).inc();
  }

  executed(status: string, seconds: number): void {
    this.actionsTotal.inc({ status });
    this.actionSeconds.observe({ status }, seconds);
  }

  rateLimited(scope: string): void {
    this.rateLimitedTotal.inc({ scope });
  }

  eventsStored(events: readonly TraceEvent[]): void {
    for (const e of events) this.traceEvents.inc({ type: e.event_type });
  }

  bundle(version: string): void {
    this.bundleInfo.reset();
    this.bundleInfo.set({ version }, 1);
  }

  http(method: string, route: string, status: number, seconds: number): void {
    this.httpSeconds.observe({ method, route, status: `${Math.floor(status / 100)}xx` }, seconds);
  }

  wsDropped(reason: string): void {
    this.wsDroppedTotal.inc({ reason });
  }

  checkpointWritten(): void {
    this.checkpointsTotal.inc();
  }

  loadShed(): void {
    this.loadShedTotal.inc();
  }
}

/**
 * Operator metrics (CRA-SPEC §10) on a dedicated registry: reconcile counts and durations by kind
 * and result, work queue depth, the bundle published, resources by readiness; `cra_leader` comes from
 * the leader elector.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LEADER_METRIC } from './leader/metrics.js';

export const OPERATOR_METRICS = {
  reconciles: 'cra_reconcile_total',
  reconcileDuration: 'cra_reconcile_duration_seconds',
  queueDepth: 'cra_workqueue_depth',
  /** Owned by the leader elector (leader/metrics.ts). */
  leader: LEADER_METRIC,
  bundleInfo: 'cra_operator_bundle_info',
  resources: 'cra_resources',
} as const;

export class OperatorMetrics {
  readonly registry = new Registry();
  private readonly reconciles: Counter<'kind' | 'result'>;
  private readonly durations: Histogram<'kind'>;
  private readonly bundleInfo: Gauge<'version'>;
  private readonly resources: Gauge<'kind' | 'ready'>;

  constructor(queueDepth: () => number) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'cra_operator_' });
    this.reconciles = new Counter({
      name: OPERATOR_METRICS.reconciles,
      help: 'Reconciles by kind and result',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.durations = new Histogram({
      name: OPERATOR_METRICS.reconcileDuration,
      help: 'Reconcile duration by kind',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    new Gauge({
      name: OPERATOR_METRICS.queueDepth,
      help: 'Keys waiting in the work queue',
      registers,
      collect() {
        this.set(queueDepth());
      },
    });
    this.bundleInfo = new Gauge({
      name: OPERATOR_METRICS.bundleInfo,
      help: 'The runtime bundle last published',
      labelNames: ['version'],
      registers,
    });
    this.resources = new Gauge({
      name: OPERATOR_METRICS.resources,
      help: 'Watched resources by kind and readiness',
      labelNames: ['kind', 'ready'],
      registers,
    });
  }

  reconciled(kind: string, result: 'success' | 'error', seconds: number): void {
    this.reconciles.inc({ kind, result });
    this.durations.observe({ kind }, seconds);
  }

  bundle(version: string): void {
    this.bundleInfo.reset();
    this.bundleInfo.set({ version }, 1);
  }

  counts(kind: string, ready: number, notReady: number): void {
    this.resources.set({ kind, ready: 'true' }, ready);
    this.resources.set({ kind, ready: 'false' }, notReady);
  }
}

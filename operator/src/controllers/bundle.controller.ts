/**
 * The bundle controller. One key ("bundle") for the whole watch scope: every change to an Atlas,
 * Policy or AgentIdentity recompiles the bundle (level-based: the full desired state each time),
 * publishes it when it changed, writes each resource's status when it changed, records Events on
 * transitions, and manages the `cra.dev/bundle` finalizer. An invalid resource only loses its own
 * place in the bundle (Ready=False, reason, field-level message); the rest keeps serving.
 */
import { KINDS, translate, type Verdict } from '../compile/gather.js';
import type { ClusterCache } from '../k8s/cache.js';
import { statusOf, type Clients } from '../k8s/clients.js';
import { API_VERSION, EVENT_REASONS, FINALIZER } from '../k8s/constants.js';
import type { EventRecorder } from '../k8s/events.js';
import { setFinalizer } from '../k8s/finalizers.js';
import { desiredStatus, writeStatus, type CurrentStatus } from '../k8s/status.js';
import type { OperatorMetrics } from '../metrics.js';
import type { BundlePublisher } from './bundle-publisher.js';

export const BUNDLE_KEY = 'bundle';
/** Status writes in flight at once in one reconcile. */
export const STATUS_WRITERS = 8;

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface BundleControllerDeps {
  clients: Clients;
  cache: ClusterCache;
  publisher: BundlePublisher;
  events: EventRecorder;
  metrics: OperatorMetrics;
  log: Logger;
  bundleConfigMap: { namespace: string; name: string };
  now?: () => Date;
}

export class BundleController {
  constructor(private readonly deps: BundleControllerDeps) {}

  async reconcile(signal: AbortSignal): Promise<void> {
    const { cache, publisher, events, log, metrics } = this.deps;
    const state = await cache.state();
    const { bundle, verdicts } = translate(state);
    if (signal.aborted) return;
    const published = await publisher.publish(bundle);
    metrics.bundle(bundle.version);
    if (published.changed) {
      log.info(
        { bundle_version: bundle.version, atlases: bundle.atlases.length, objects: published.objects },
        'bundle published',
      );
      await events.record(
        { apiVersion: 'v1', kind: 'ConfigMap', ...this.deps.bundleConfigMap },
        'Normal',
        EVENT_REASONS.bundlePublished,
        `runtime bundle ${bundle.version}: ${bundle.atlases.length} atlas(es), ${bundle.policies.length} policy(ies), ${bundle.identities.length} identity(ies) in ${published.objects} ConfigMap(s)`,
      );
    }
    const now = (this.deps.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    for (const kind of KINDS) {
      const mine = verdicts.filter((v) => v.kind === kind);
      metrics.counts(kind, mine.filter((v) => v.ready).length, mine.filter((v) => !v.ready).length);
    }
    // Statuses are independent writes: a few in flight at once, so a pass over N resources costs
    // ~N/STATUS_WRITERS round trips rather than N.
    // The first failure stops the others; the reconcile is retried with backoff.
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      while (next < verdicts.length && !signal.aborted && !failed) {
        await this.settle(verdicts[next++]!, bundle.version, now).catch((err: unknown) => {
          failed = true;
          throw err;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(STATUS_WRITERS, verdicts.length) }, worker));
  }

  /** Status, Event and finalizer of one resource after a publish. */
  private async settle(verdict: Verdict, bundleVersion: string, now: string): Promise<void> {
    const { cache, clients, events, log } = this.deps;
    const object = cache.get(verdict.kind, verdict.namespace, verdict.name);
    if (!object) return;
    const hasFinalizer = ((object.metadata as { finalizers?: string[] } | undefined)?.finalizers ?? []).includes(
      FINALIZER,
    );
    const ignoreGone = (err: unknown): void => {
      if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
    };
    if (verdict.reason === 'Deleting') {
      // The published bundle no longer holds it: let it go.
      if (hasFinalizer)
        await setFinalizer(clients, verdict.kind, verdict.namespace, verdict.name, false).catch(ignoreGone);
      return;
    }
    if (!hasFinalizer)
      await setFinalizer(clients, verdict.kind, verdict.namespace, verdict.name, true).catch(ignoreGone);
    const current = object.status as CurrentStatus | undefined;
    const wasReady = current?.conditions?.find((c) => c.type === 'Ready');
    const desired = desiredStatus(verdict, current, bundleVersion, now);
    if (!desired) return;
    await writeStatus(clients, verdict, desired).catch(ignoreGone);
    const flipped =
      wasReady === undefined || (wasReady.status === 'True') !== verdict.ready || wasReady.reason !== verdict.reason;
    if (flipped) {
      const involved = {
        apiVersion: API_VERSION,
        kind: verdict.kind,
        name: verdict.name,
        namespace: verdict.namespace,
        ...(object.metadata?.uid ? { uid: object.metadata.uid } : {}),
      };
      if (verdict.ready) {
        await events.record(involved, 'Normal', EVENT_REASONS.published, verdict.message);
      } else {
        log.warn(
          { kind: verdict.kind, namespace: verdict.namespace, name: verdict.name, reason: verdict.reason },
          verdict.message,
        );
        await events.record(involved, 'Warning', EVENT_REASONS.rejected, `${verdict.reason}: ${verdict.message}`);
      }
    }
  }
}

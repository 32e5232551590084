/**
 * Watches what the operator itself wrote in its namespace — the bundle ConfigMaps and the runtime
 * workload — so that a deleted or hand-edited object is put back at once rather than at the next
 * spec change. Informers are label-selected (only objects the operator manages are listed) and
 * restarted when a watch fails, as in ClusterCache.
 */
import { makeInformer, type Informer, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Clients } from './clients.js';
import { BUNDLE_LABEL, LABEL_MANAGED_BY, MANAGED_BY } from './constants.js';

type Watched = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

export type OwnedKind = 'ConfigMap' | 'Deployment' | 'Service';

export interface OwnedWatchOptions {
  namespace: string;
  bundleConfigMap: string;
  /** Called on add, update and delete of an owned object (the initial list counts as adds). */
  onChange: (kind: OwnedKind, event: 'add' | 'update' | 'delete', name: string) => void;
  onError?: (kind: OwnedKind, err: unknown) => void;
  restartDelayMs?: number;
}

export class OwnedWatch {
  private readonly informers: { kind: OwnedKind; informer: Watched }[] = [];
  private stopped = false;

  constructor(
    private readonly c: Clients,
    private readonly options: OwnedWatchOptions,
  ) {}

  async start(): Promise<void> {
    const { namespace, bundleConfigMap } = this.options;
    const managed = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
    this.add('ConfigMap', `/api/v1/namespaces/${namespace}/configmaps`, `${BUNDLE_LABEL}=${bundleConfigMap}`, () =>
      this.c.core.listNamespacedConfigMap({ namespace, labelSelector: `${BUNDLE_LABEL}=${bundleConfigMap}` }),
    );
    this.add('Deployment', `/apis/apps/v1/namespaces/${namespace}/deployments`, managed, () =>
      this.c.apps.listNamespacedDeployment({ namespace, labelSelector: managed }),
    );
    this.add('Service', `/api/v1/namespaces/${namespace}/services`, managed, () =>
      this.c.core.listNamespacedService({ namespace, labelSelector: managed }),
    );
    await Promise.all(this.informers.map(({ kind, informer }) => this.startOne(kind, informer)));
  }

  private add(kind: OwnedKind, path: string, labelSelector: string, list: () => Promise<unknown>): void {
    const informer = makeInformer<KubernetesObject>(this.c.kubeConfig, path, list as never, labelSelector) as Watched;
    for (const verb of ['add', 'update', 'delete'] as const) {
      informer.on(verb, (object: KubernetesObject) => this.options.onChange(kind, verb, object.metadata?.name ?? ''));
    }
    informer.on('error', (err: unknown) => {
      this.options.onError?.(kind, err);
      if (!this.stopped) setTimeout(() => void this.startOne(kind, informer), this.delay).unref();
    });
    this.informers.push({ kind, informer });
  }

  private get delay(): number {
    return this.options.restartDelayMs ?? 2_000;
  }

  private async startOne(kind: OwnedKind, informer: Watched): Promise<void> {
    if (this.stopped) return;
    try {
      await informer.start();
    } catch (err) {
      this.options.onError?.(kind, err);
      setTimeout(() => void this.startOne(kind, informer), this.delay).unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.informers.map(({ informer }) => informer.stop().catch(() => undefined)));
  }
}

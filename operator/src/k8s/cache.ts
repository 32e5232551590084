/**
 * What the operator watches: informers on Atlas, Policy and AgentIdentity (all namespaces, or the
 * listed ones), restarted when a watch fails (client-node stops an informer on most errors) and
 * relisted periodically as a safety net. Referenced ConfigMaps and Secrets are read when a
 * reconcile needs them (no cluster-wide Secret watch: RBAC cannot narrow one).
 */
import { makeInformer, type Informer, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { AgentIdentitySpec, AtlasSpec } from '@cra/core';
import type { ClusterObject, ClusterState, Kind } from '../compile/gather.js';
import { statusOf, type Clients } from './clients.js';
import { GROUP, PLURALS, VERSION } from './constants.js';

type Watched = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

export interface CacheOptions {
  /** Empty = all namespaces. */
  namespaces: readonly string[];
  onChange: () => void;
  /** The periodic safety-net relist; default: onChange. */
  onResync?: () => void;
  onError?: (kind: Kind, err: unknown) => void;
  restartDelayMs?: number;
  resyncMs?: number;
}

export class ClusterCache {
  private readonly informers = new Map<Kind, Watched[]>();
  private readonly synced = new Set<Watched>();
  private stopped = false;
  private resync: NodeJS.Timeout | undefined;

  constructor(
    private readonly c: Clients,
    private readonly options: CacheOptions,
  ) {}

  async start(): Promise<void> {
    const scopes = this.options.namespaces.length > 0 ? this.options.namespaces : [undefined];
    for (const kind of ['Atlas', 'Policy', 'AgentIdentity'] as const) {
      const list: Watched[] = [];
      for (const namespace of scopes) list.push(this.informer(kind, namespace));
      this.informers.set(kind, list);
    }
    await Promise.all([...this.informers.values()].flat().map((i) => this.startOne(i)));
    this.resync = setInterval(
      () => (this.options.onResync ?? this.options.onChange)(),
      this.options.resyncMs ?? 60_000,
    );
    this.resync.unref();
  }

  private informer(kind: Kind, namespace: string | undefined): Watched {
    const plural = PLURALS[kind];
    const path = namespace
      ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}`
      : `/apis/${GROUP}/${VERSION}/${plural}`;
    const list = () =>
      (namespace
        ? this.c.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural })
        : this.c.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as never;
    const informer = makeInformer<KubernetesObject>(this.c.kubeConfig, path, list) as Watched;
    for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, () => this.options.onChange());
    informer.on('error', (err: unknown) => {
      this.synced.delete(informer);
      this.options.onError?.(kind, err);
      if (this.stopped) return;
      setTimeout(() => void this.startOne(informer), this.options.restartDelayMs ?? 2_000).unref();
    });
    return informer;
  }

  private async startOne(informer: Watched): Promise<void> {
    if (this.stopped) return;
    try {
      await informer.start();
      this.synced.add(informer);
      this.options.onChange();
    } catch (err) {
      setTimeout(() => void this.startOne(informer), this.options.restartDelayMs ?? 2_000).unref();
      this.options.onError?.('Atlas', err);
    }
  }

  /** Every informer has listed at least once since its last failure. */
  get ready(): boolean {
    return [...this.informers.values()].flat().every((i) => this.synced.has(i));
  }

  list(kind: Kind): ClusterObject[] {
    return (this.informers.get(kind) ?? []).flatMap((i) => i.list() as ClusterObject[]);
  }

  get(kind: Kind, namespace: string, name: string): (ClusterObject & { status?: unknown }) | undefined {
    for (const i of this.informers.get(kind) ?? []) {
      const found = i.get(name, namespace);
      if (found) return found as ClusterObject & { status?: unknown };
    }
    return undefined;
  }

  /** The translator's input: the watched objects plus the ConfigMaps and Secrets they reference. */
  async state(): Promise<ClusterState> {
    const atlases = this.list('Atlas');
    const policies = this.list('Policy');
    const identities = this.list('AgentIdentity');
    const configMaps = new Map<string, Record<string, string> | undefined>();
    const secrets = new Map<string, Record<string, string> | undefined>();
    const wantedConfigMaps = new Set<string>();
    for (const a of atlases) {
      for (const pack of (a.spec as AtlasSpec | undefined)?.contextPacks ?? []) {
        if (pack.configMapRef) wantedConfigMaps.add(`${a.metadata?.namespace ?? 'default'}/${pack.configMapRef.name}`);
      }
    }
    const wantedSecrets = new Set<string>();
    for (const i of identities) {
      const ref = (i.spec as AgentIdentitySpec | undefined)?.auth?.apiKeySecretRef;
      if (ref) wantedSecrets.add(`${i.metadata?.namespace ?? 'default'}/${ref.name}`);
    }
    const notFound = (err: unknown): undefined => {
      if (statusOf(err) === 404) return undefined;
      throw err;
    };
    await Promise.all([
      ...[...wantedConfigMaps].map(async (key) => {
        const [namespace, name] = key.split('/') as [string, string];
        const cm = await this.c.core.readNamespacedConfigMap({ namespace, name }).catch(notFound);
        configMaps.set(key, cm?.data);
      }),
      ...[...wantedSecrets].map(async (key) => {
        const [namespace, name] = key.split('/') as [string, string];
        const secret = await this.c.core.readNamespacedSecret({ namespace, name }).catch(notFound);
        const decoded = secret?.data
          ? Object.fromEntries(
              Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
            )
          : undefined;
        secrets.set(key, { ...decoded, ...secret?.stringData });
      }),
    ]);
    return {
      atlases,
      policies,
      identities,
      configMap: (namespace, name, key) => configMaps.get(`${namespace}/${name}`)?.[key],
      secret: (namespace, name, key) => secrets.get(`${namespace}/${name}`)?.[key],
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.resync) clearInterval(this.resync);
    await Promise.all([...this.informers.values()].flat().map((i) => i.stop().catch(() => undefined)));
  }
}

/**
 * The operator as one object: informers (on every replica, so standbys are warm), a work queue,
 * and — only while this replica leads — the workers that reconcile the bundle and the runtime
 * workload. Losing leadership aborts the workers at once (and, in the process, exits).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import type { OperatorConfig } from './config.js';
import { BundleController, BUNDLE_KEY } from './controllers/bundle.controller.js';
import { BundlePublisher } from './controllers/bundle-publisher.js';
import { RuntimeController, RUNTIME_KEY } from './controllers/runtime.controller.js';
import type { Owner } from './k8s/apply.js';
import { ClusterCache } from './k8s/cache.js';
import { clients, statusOf, type Clients } from './k8s/clients.js';
import { eventRecorder } from './k8s/events.js';
import { OwnedWatch } from './k8s/owned-watch.js';
import {
  exitOnLeadershipLost,
  LeaderElector,
  leaseEventRecorder,
  LeaseLock,
  prometheusLeaderMetrics,
  type StoppedLeadingInfo,
} from './leader/index.js';
import { OperatorMetrics } from './metrics.js';
import { WorkQueue } from './queue/work-queue.js';

export interface OperatorOptions {
  config: OperatorConfig;
  kubeConfig?: KubeConfig;
  logger?: Logger;
  /** What losing leadership does; default: exit the process (a half-stopped leader must not write). */
  onLeadershipLost?: (info: StoppedLeadingInfo) => void;
}

export class Operator {
  readonly metrics: OperatorMetrics;
  readonly queue = new WorkQueue();
  readonly log: Logger;
  private readonly c: Clients;
  private cache!: ClusterCache;
  private owned: OwnedWatch | undefined;
  private elector: LeaderElector | undefined;
  private leading: AbortController | undefined;
  private workers: Promise<void> | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly options: OperatorOptions) {
    this.c = clients(options.kubeConfig);
    this.log = options.logger ?? pino({ level: options.config.logLevel });
    this.metrics = new OperatorMetrics(() => this.queue.length);
  }

  get isLeader(): boolean {
    return this.leading !== undefined && !this.leading.signal.aborted;
  }

  get ready(): boolean {
    return this.cache?.ready ?? false;
  }

  healthy(): boolean {
    return this.elector?.healthy(5_000) ?? true;
  }

  private async owner(): Promise<Owner | undefined> {
    const name = this.options.config.ownerDeployment;
    if (!name) return undefined;
    try {
      const d = await this.c.apps.readNamespacedDeployment({ namespace: this.options.config.namespace, name });
      return { apiVersion: 'apps/v1', kind: 'Deployment', name, uid: d.metadata!.uid! };
    } catch (err) {
      this.log.warn(
        { deployment: name, status: statusOf(err) },
        'owner Deployment not found: created objects get no owner reference',
      );
      return undefined;
    }
  }

  async start(): Promise<void> {
    const { config } = this.options;
    const owner = await this.owner();
    const events = eventRecorder(this.c, config.identity);
    this.cache = new ClusterCache(this.c, {
      namespaces: config.watchNamespaces,
      onChange: () => this.queue.add(BUNDLE_KEY),
      resyncMs: config.resyncSeconds * 1000,
      onResync: () => {
        this.queue.add(BUNDLE_KEY);
        this.queue.add(RUNTIME_KEY);
      },
      onError: (kind, err) => this.log.warn({ kind, err: (err as Error)?.message }, 'watch failed; restarting it'),
    });
    const publisher = new BundlePublisher(this.c, {
      namespace: config.namespace,
      name: config.bundleConfigMap,
      ...(owner ? { owner } : {}),
    });
    // What the operator wrote, watched too: a deleted or edited bundle ConfigMap is republished,
    // a changed runtime Deployment or Service is put back.
    this.owned = new OwnedWatch(this.c, {
      namespace: config.namespace,
      bundleConfigMap: config.bundleConfigMap,
      onChange: (kind) => {
        if (kind === 'ConfigMap') {
          publisher.reset();
          this.queue.add(BUNDLE_KEY);
        } else this.queue.add(RUNTIME_KEY);
      },
      onError: (kind, err) => this.log.warn({ kind, err: (err as Error)?.message }, 'watch failed; restarting it'),
    });
    await Promise.all([this.cache.start(), this.owned.start()]);
    const bundle = new BundleController({
      clients: this.c,
      cache: this.cache,
      publisher,
      events,
      metrics: this.metrics,
      log: this.log,
      bundleConfigMap: { namespace: config.namespace, name: config.bundleConfigMap },
    });
    const runtime = new RuntimeController(this.c, {
      namespace: config.namespace,
      bundleConfigMap: config.bundleConfigMap,
      ...(owner ? { owner } : {}),
      config: config.runtime,
    });
    const lead = (signal: AbortSignal): Promise<void> => {
      this.leading = new AbortController();
      signal.addEventListener('abort', () => this.leading?.abort(), { once: true });
      this.queue.add(BUNDLE_KEY);
      this.queue.add(RUNTIME_KEY);
      this.workers = this.work({ [BUNDLE_KEY]: bundle, [RUNTIME_KEY]: runtime }, this.leading.signal);
      return this.workers;
    };
    if (!config.leaderElection.enabled) {
      prometheusLeaderMetrics(this.metrics.registry).setLeader(config.identity, true);
      this.running = lead(new AbortController().signal);
      return;
    }
    this.elector = new LeaderElector({
      config: {
        namespace: config.namespace,
        name: config.leaderElection.leaseName,
        identity: config.identity,
        leaseDurationMs: config.leaderElection.leaseDurationMs,
        renewDeadlineMs: config.leaderElection.renewDeadlineMs,
        retryPeriodMs: config.leaderElection.retryPeriodMs,
      },
      lock: LeaseLock.fromKubeConfig(this.c.kubeConfig, {
        namespace: config.namespace,
        name: config.leaderElection.leaseName,
      }),
      callbacks: {
        onStartedLeading: (signal) => {
          this.log.info({ identity: config.identity }, 'started leading');
          return lead(signal);
        },
        onStoppedLeading: (info) => {
          this.leading?.abort();
          this.log.warn({ identity: config.identity, reason: info.reason }, 'stopped leading');
          (this.options.onLeadershipLost ?? exitOnLeadershipLost({ logger: this.log }))(info);
        },
        onNewLeader: (identity) => this.log.info({ leader: identity }, 'leader observed'),
      },
      logger: this.log,
      metrics: prometheusLeaderMetrics(this.metrics.registry),
      events: leaseEventRecorder(this.c.kubeConfig, {
        namespace: config.namespace,
        name: config.leaderElection.leaseName,
        component: 'cra-operator',
        logger: this.log,
      }),
    });
    this.running = this.elector.run();
  }

  /** The worker loop: one key at a time (a key never runs concurrently with itself). */
  private async work(
    controllers: Record<string, { reconcile(signal: AbortSignal): Promise<void> }>,
    signal: AbortSignal,
  ): Promise<void> {
    while (!signal.aborted) {
      const key = await Promise.race([
        this.queue.get(),
        new Promise<undefined>((r) => signal.addEventListener('abort', () => r(undefined), { once: true })),
      ]);
      if (key === undefined) return;
      const controller = controllers[key];
      const started = performance.now();
      try {
        if (controller) await controller.reconcile(signal);
        this.queue.forget(key);
        this.metrics.reconciled(key, 'success', (performance.now() - started) / 1000);
      } catch (err) {
        this.metrics.reconciled(key, 'error', (performance.now() - started) / 1000);
        this.log.warn(
          { key, err: (err as Error).message, retries: this.queue.limiter.retries(key) },
          'reconcile failed; retrying with backoff',
        );
        if (!signal.aborted) this.queue.addRateLimited(key);
      } finally {
        this.queue.done(key);
      }
    }
  }

  /** Stop reconciling, release the lease, stop watching. */
  async stop(): Promise<void> {
    this.queue.shutDown();
    this.leading?.abort();
    await this.elector?.stop();
    await this.workers?.catch(() => undefined);
    await Promise.all([this.cache?.stop(), this.owned?.stop()]);
    await this.running?.catch(() => undefined);
  }
}

/**
 * A `coordination.k8s.io/v1` Lease as the lock (client-go `resourcelock.LeaseLock`): GET, POST and
 * PUT through `CoordinationV1Api`. The object from the last GET/POST/PUT is cached and the next PUT
 * carries its `metadata.resourceVersion`, so a concurrent writer makes it fail with 409.
 */
import {
  ApiException,
  CoordinationV1Api,
  Observable,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
  type RequestContext,
  type ResponseContext,
  type V1Lease,
  type V1LeaseSpec,
} from '@kubernetes/client-node';
import { LockError, type ObservedLock, type ResourceLock } from './lock.js';
import { microTimeFromWire, rawRecord, WireMicroTime, type LeaderElectionRecord } from './record.js';

export interface LeaseLockOptions {
  namespace: string;
  name: string;
  /** Labels put on the Lease when this lock creates it. */
  labels?: Record<string, string>;
}

/** The operations of `CoordinationV1Api` the lock uses (a narrower type for tests). */
export type LeaseApi = Pick<
  CoordinationV1Api,
  'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'
>;

/** Per-request options that abort the HTTP request when `signal` fires. */
export function abortOptions(signal: AbortSignal | undefined): ConfigurationOptions<ObservableMiddleware> | undefined {
  if (signal === undefined) return undefined;
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
  };
  // `append` keeps the KubeConfig's own middleware (TLS dispatcher, auth).
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/** The record held in a Lease's spec (client-go `LeaseSpecToLeaderElectionRecord`). */
export function recordFromLeaseSpec(spec: V1LeaseSpec | undefined): LeaderElectionRecord {
  const acquireTime = microTimeFromWire(spec?.acquireTime);
  const renewTime = microTimeFromWire(spec?.renewTime);
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    ...(acquireTime === undefined ? {} : { acquireTime }),
    ...(renewTime === undefined ? {} : { renewTime }),
    leaseTransitions: spec?.leaseTransitions ?? 0,
    ...(spec?.strategy ? { strategy: spec.strategy } : {}),
    ...(spec?.preferredHolder ? { preferredHolder: spec.preferredHolder } : {}),
  };
}

/** The Lease spec for a record (client-go `LeaderElectionRecordToLeaseSpec`); MicroTimes go out verbatim. */
export function leaseSpecFromRecord(record: LeaderElectionRecord): V1LeaseSpec {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    ...(record.acquireTime === undefined ? {} : { acquireTime: new WireMicroTime(record.acquireTime) }),
    ...(record.renewTime === undefined ? {} : { renewTime: new WireMicroTime(record.renewTime) }),
    leaseTransitions: record.leaseTransitions,
    ...(record.strategy ? { strategy: record.strategy } : {}),
    ...(record.preferredHolder ? { preferredHolder: record.preferredHolder } : {}),
  };
}

function lockError(operation: string, target: string, error: unknown): LockError {
  if (error instanceof LockError) return error;
  if (error instanceof ApiException) {
    const body = error.body as { message?: unknown } | undefined;
    const detail = typeof body?.message === 'string' ? body.message : `HTTP ${error.code}`;
    return new LockError(`${operation} lease ${target}: ${detail}`, error.code, { cause: error });
  }
  let message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error ? (error.cause as { message?: unknown; code?: unknown } | undefined) : undefined;
  if (cause !== undefined && typeof cause.message === 'string') message += ` (${cause.message})`;
  return new LockError(`${operation} lease ${target}: ${message}`, undefined, { cause: error });
}

export class LeaseLock implements ResourceLock {
  private readonly api: LeaseApi;
  private readonly namespace: string;
  private readonly name: string;
  private readonly labels: Record<string, string> | undefined;
  private lease: V1Lease | undefined;

  constructor(api: LeaseApi, options: LeaseLockOptions) {
    this.api = api;
    this.namespace = options.namespace;
    this.name = options.name;
    this.labels = options.labels;
  }

  static fromKubeConfig(kubeConfig: KubeConfig, options: LeaseLockOptions): LeaseLock {
    return new LeaseLock(kubeConfig.makeApiClient(CoordinationV1Api), options);
  }

  describe(): string {
    return `${this.namespace}/${this.name}`;
  }

  async get(signal?: AbortSignal): Promise<ObservedLock> {
    try {
      const lease = await this.api.readNamespacedLease(
        { name: this.name, namespace: this.namespace },
        abortOptions(signal),
      );
      this.lease = lease;
      const record = recordFromLeaseSpec(lease.spec);
      return { record, raw: rawRecord(record) };
    } catch (error) {
      throw lockError('get', this.describe(), error);
    }
  }

  async create(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void> {
    try {
      this.lease = await this.api.createNamespacedLease(
        {
          namespace: this.namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: {
              name: this.name,
              namespace: this.namespace,
              ...(this.labels ? { labels: { ...this.labels } } : {}),
            },
            spec: leaseSpecFromRecord(record),
          },
        },
        abortOptions(signal),
      );
    } catch (error) {
      throw lockError('create', this.describe(), error);
    }
  }

  async update(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void> {
    const cached = this.lease;
    if (cached === undefined) {
      throw new LockError(`update lease ${this.describe()}: lease not initialized, call get or create first`);
    }
    try {
      // The whole cached object (metadata.resourceVersion included) with the new spec: a PUT that
      // fails with 409 when anyone wrote the Lease since we read or wrote it.
      this.lease = await this.api.replaceNamespacedLease(
        {
          name: this.name,
          namespace: this.namespace,
          body: {
            ...cached,
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            spec: leaseSpecFromRecord(record),
          },
        },
        abortOptions(signal),
      );
    } catch (error) {
      throw lockError('update', this.describe(), error);
    }
  }

  /** The resourceVersion the next update will be guarded by (for tests and diagnostics). */
  cachedResourceVersion(): string | undefined {
    return this.lease?.metadata?.resourceVersion;
  }
}

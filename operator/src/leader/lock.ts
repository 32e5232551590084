/**
 * The resource lock the elector runs against (client-go `resourcelock.Interface`): get, create and
 * update one record with optimistic concurrency. `LeaseLock` is the Kubernetes implementation; unit
 * tests use an in-memory one.
 */
import type { LeaderElectionRecord } from './record.js';

export interface ObservedLock {
  record: LeaderElectionRecord;
  /** Canonical bytes of `record` (see `rawRecord`), compared to detect a change. */
  raw: string;
}

export interface ResourceLock {
  /** `namespace/name`, for logs. */
  describe(): string;
  /** Reads the record and caches the object (and its resourceVersion) for the next `update`. Throws `LockError` (404 when absent). */
  get(signal?: AbortSignal): Promise<ObservedLock>;
  /** Creates the object with `record`; caches it. Throws `LockError` (409 when someone else created it first). */
  create(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void>;
  /**
   * Replaces the record on the cached object, guarded by its resourceVersion (409 when someone wrote in
   * between); caches the result. Throws when nothing was read or created yet.
   */
  update(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void>;
}

/** A failed lock operation. `status` is the HTTP status when the apiserver answered. */
export class LockError extends Error {
  readonly status: number | undefined;

  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LockError';
    this.status = status;
  }

  get notFound(): boolean {
    return this.status === 404;
  }

  /** Lost an optimistic-concurrency race (resourceVersion changed, or created concurrently). */
  get conflict(): boolean {
    return this.status === 409;
  }
}

export function isLockNotFound(error: unknown): boolean {
  return error instanceof LockError && error.notFound;
}

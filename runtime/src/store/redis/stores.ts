/**
 * `withRedis(base, redis)`: the stores every replica must share move to Redis — resolutions,
 * idempotency claims and the resolution cache — while sessions, traces, executions and
 * approvals stay in the base (SQL) stores. Adds a `redis` readiness probe; closing the stores
 * closes the base stores and then the Redis connection.
 */
import { CraError, type CARPResolution } from '@cra/core';
import type { ResolutionRecord, ResolutionStore, Stores } from '../ports.js';
import { RedisCache } from './cache.js';
import type { RedisConnection } from './client.js';
import { RedisIdempotencyStore } from './idempotency-store.js';
import { RESOLUTION_KEY, RedisResolutionStore } from './resolution-store.js';

export interface WithRedisOptions {
  /** How long resolutions and idempotency claims outlive the resolution's expiry; default 15 min. */
  graceMs?: number;
  now?: () => number;
  /** Cache failures (reads degrade to misses). */
  onCacheError?: (err: Error, operation: 'get' | 'set' | 'clear') => void;
  /** Close the Redis connection with the stores; default true. */
  closeRedis?: boolean;
  /** Runs before the connection closes (e.g. the rate limiter removing its heartbeat). */
  beforeCloseRedis?: () => Promise<void>;
}

/**
 * Resolutions in Redis, falling back to the base store while Redis is unreachable: a resolve
 * keeps working during a Redis outage, and a resolution written then is still found by every
 * replica (they all look in the base store when Redis has no answer).
 */
export function tieredResolutions(primary: ResolutionStore, fallback: ResolutionStore): ResolutionStore {
  const unavailable = (err: unknown): boolean => err instanceof CraError && err.code === 'SERVICE_UNAVAILABLE';
  return {
    async put(record) {
      try {
        await primary.put(record);
      } catch (err) {
        if (!unavailable(err)) throw err;
        await fallback.put(record);
      }
    },
    async get(id) {
      try {
        const found = await primary.get(id);
        if (found) return found;
      } catch (err) {
        if (!unavailable(err)) throw err;
      }
      return fallback.get(id);
    },
    async prune(before) {
      return fallback.prune(before);
    },
  };
}

export function withRedis(base: Stores, redis: RedisConnection, options: WithRedisOptions = {}): Stores {
  const timing = {
    ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  };
  return {
    ...base,
    resolutions: tieredResolutions(new RedisResolutionStore(redis, timing), base.resolutions),
    idempotency: new RedisIdempotencyStore(redis, timing),
    resolutionCache: new RedisCache<CARPResolution>(redis, 'resolutions', {
      ...(options.onCacheError ? { onError: options.onCacheError } : {}),
      // A cached resolution is the one the resolve that planned it stored as its record (written in
      // the same round trip, kept a grace period past the resolution's expiry, which bounds the
      // entry's TTL): the entry holds its id, not a second ~30 kB copy.
      byReference: {
        keyPrefix: RESOLUTION_KEY,
        referenceOf: (resolution) => resolution.resolution_id,
        valueOf: (stored) => (stored as Partial<ResolutionRecord>).resolution,
      },
    }),
    async health() {
      const [fromBase, fromRedis] = await Promise.all([base.health(), redis.ping()]);
      return { ...fromBase, redis: fromRedis };
    },
    async close() {
      try {
        await base.close();
      } finally {
        await options.beforeCloseRedis?.().catch(() => undefined);
        if (options.closeRedis !== false) await redis.close();
      }
    },
  };
}

/**
 * `withRedis(base, redis)`: the stores every replica must share move to Redis — resolutions,
 * idempotency claims and the resolution cache — while sessions, traces, executions and
 * approvals stay in the base (SQL) stores. Adds a `redis` readiness probe; closing the stores
 * closes the base stores and then the Redis connection.
 */
import type { CARPResolution } from '@cra/core';
import type { Stores } from '../ports.js';
import { RedisCache } from './cache.js';
import type { RedisConnection } from './client.js';
import { RedisIdempotencyStore } from './idempotency-store.js';
import { RedisResolutionStore } from './resolution-store.js';

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

export function withRedis(base: Stores, redis: RedisConnection, options: WithRedisOptions = {}): Stores {
  const timing = {
    ...(options.graceMs !== undefined ? { graceMs: options.graceMs } : {}),
    ...(options.now ? { now: options.now } : {}),
  };
  return {
    ...base,
    resolutions: new RedisResolutionStore(redis, timing),
    idempotency: new RedisIdempotencyStore(redis, timing),
    resolutionCache: new RedisCache<CARPResolution>(redis, 'resolutions', {
      ...(options.onCacheError ? { onError: options.onCacheError } : {}),
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

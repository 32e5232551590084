/**
 * A TTL cache in Redis shared by every replica (the resolution cache). Values are JSON; entries
 * live under a generation counter, so `clear` is one INCR and old entries simply expire. A cache
 * never fails the request: Redis errors read as misses and are reported to `onError`; a clear
 * that could not reach Redis is retried before the next read, which misses until it succeeds.
 */
import type { Cache } from '../ports.js';
import type { RedisConnection } from './client.js';
import { jsonBytes } from '../../json-bytes.js';

export const CACHE_KEY = 'cache:';

export interface RedisCacheOptions {
  onError?: (err: Error, operation: 'get' | 'set' | 'clear') => void;
}

export class RedisCache<T> implements Cache<T> {
  private readonly generationKey: string;
  private readonly entryPrefix: string;
  private clearPending = false;

  constructor(
    private readonly redis: RedisConnection,
    name: string,
    private readonly options: RedisCacheOptions = {},
  ) {
    this.generationKey = `${CACHE_KEY}${name}:generation`;
    // Entry keys are built inside the script, where ioredis's keyPrefix does not reach.
    this.entryPrefix = `${redis.keyPrefix}${CACHE_KEY}${name}:g`;
  }

  async get(key: string): Promise<T | undefined> {
    if (!this.redis.isReady() || !(await this.flushPendingClear())) return undefined;
    try {
      const body = await this.redis.client.craCacheGet(this.generationKey, this.entryPrefix, key);
      return body === null ? undefined : (JSON.parse(body) as T);
    } catch (err) {
      this.options.onError?.(err as Error, 'get');
      return undefined;
    }
  }

  async set(key: string, value: T, ttlMs: number): Promise<void> {
    const ttl = Math.ceil(ttlMs);
    if (ttl <= 0 || !this.redis.isReady() || !(await this.flushPendingClear())) return;
    try {
      // As bytes of ASCII JSON, its parts remembered for the resolution record written next (json-bytes.ts).
      await this.redis.client.craCacheSet(this.generationKey, this.entryPrefix, key, jsonBytes(value, 1), ttl);
    } catch (err) {
      this.options.onError?.(err as Error, 'set');
    }
  }

  async clear(): Promise<void> {
    this.clearPending = true;
    await this.flushPendingClear();
  }

  /** True when no clear is outstanding (any pending one has now reached Redis). */
  private async flushPendingClear(): Promise<boolean> {
    if (!this.clearPending) return true;
    try {
      await this.redis.client.incr(this.generationKey);
      this.clearPending = false;
      return true;
    } catch (err) {
      this.options.onError?.(err as Error, 'clear');
      return false;
    }
  }
}

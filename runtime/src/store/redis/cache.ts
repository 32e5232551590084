/**
 * A TTL cache in Redis shared by every replica (the resolution cache). Values are JSON (or a
 * reference to JSON another store keeps: `byReference`); entries
 * live under a generation counter, so `clear` is one INCR and old entries simply expire. A cache
 * never fails the request: Redis errors read as misses and are reported to `onError`; a clear
 * that could not reach Redis is retried before the next read, which misses until it succeeds.
 */
import type { Cache } from '../ports.js';
import type { RedisConnection } from './client.js';
import { jsonBytes } from '../../json-bytes.js';

export const CACHE_KEY = 'cache:';

/**
 * Entries that point at a value some other store already keeps in Redis, instead of a copy of it:
 * the resolution cache's values are resolutions the resolution store has just written (~30 kB
 * each), so an entry holds the resolution id, and a read follows it in the same script. Each
 * referenced key must outlive the entries pointing at it (a dangling entry reads as a miss).
 */
export interface CacheReference<T> {
  /** The referenced key's prefix (below the connection's key prefix); the reference completes it. */
  keyPrefix: string;
  referenceOf(value: T): string;
  /** The cached value from the referenced key's parsed JSON. */
  valueOf(stored: unknown): T | undefined;
}

export interface RedisCacheOptions<T> {
  onError?: (err: Error, operation: 'get' | 'set' | 'clear') => void;
  byReference?: CacheReference<T>;
}

export class RedisCache<T> implements Cache<T> {
  private readonly generationKey: string;
  private readonly entryPrefix: string;
  /** `byReference`, with the referenced keys' full prefix (the script does not get ioredis's keyPrefix). */
  private readonly reference: { to: CacheReference<T>; fullPrefix: string } | undefined;
  private clearPending = false;

  constructor(
    private readonly redis: RedisConnection,
    name: string,
    private readonly options: RedisCacheOptions<T> = {},
  ) {
    this.generationKey = `${CACHE_KEY}${name}:generation`;
    // Entry keys are built inside the script, where ioredis's keyPrefix does not reach.
    this.entryPrefix = `${redis.keyPrefix}${CACHE_KEY}${name}:g`;
    const reference = options.byReference;
    this.reference = reference ? { to: reference, fullPrefix: `${redis.keyPrefix}${reference.keyPrefix}` } : undefined;
  }

  async get(key: string): Promise<T | undefined> {
    if (!this.redis.isReady() || !(await this.flushPendingClear())) return undefined;
    try {
      const { client } = this.redis;
      const reference = this.reference;
      if (reference !== undefined) {
        const body = await client.craCacheGetReferenced(
          this.generationKey,
          this.entryPrefix,
          key,
          reference.fullPrefix,
        );
        return body === null ? undefined : reference.to.valueOf(JSON.parse(body));
      }
      const body = await client.craCacheGet(this.generationKey, this.entryPrefix, key);
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
      const reference = this.reference;
      // A value goes as bytes of ASCII JSON, its parts remembered for later writes of the same objects (json-bytes.ts).
      const entry = reference !== undefined ? reference.to.referenceOf(value) : jsonBytes(value, 1);
      await this.redis.client.craCacheSet(this.generationKey, this.entryPrefix, key, entry, ttl);
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

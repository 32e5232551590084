/**
 * Resolutions in Redis, where every replica finds them (CRA-SPEC §3 step 7): an execute may land
 * on another pod. Each record expires a grace period after `resolution_expires_at`, so a late
 * execute is told EXPIRED rather than NOT_FOUND; Redis expiry replaces pruning.
 */
import type { ResolutionRecord, ResolutionStore } from '../ports.js';
import type { RedisConnection } from './client.js';
import { jsonBytes } from '../../json-bytes.js';
import { redisOp } from './unavailable.js';

export const RESOLUTION_KEY = 'resolution:';

export interface RedisResolutionStoreOptions {
  /** How long a record outlives its expiry; default 15 minutes. */
  graceMs?: number;
  now?: () => number;
}

export class RedisResolutionStore implements ResolutionStore {
  private readonly graceMs: number;
  private readonly now: () => number;

  constructor(
    private readonly redis: RedisConnection,
    options: RedisResolutionStoreOptions = {},
  ) {
    this.graceMs = options.graceMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
  }

  async put(record: ResolutionRecord): Promise<void> {
    const expiresAt = Date.parse(record.resolution.ttl.resolution_expires_at);
    const ttl = Math.max(0, Number.isFinite(expiresAt) ? expiresAt - this.now() : 0) + this.graceMs;
    // The record's resolution is serialised field by field, its fields' JSON remembered for the
    // HTTP answer of the same resolve (json-bytes.ts).
    const body = jsonBytes(record, 2);
    await redisOp('store resolution', () =>
      this.redis.client.set(`${RESOLUTION_KEY}${record.resolution.resolution_id}`, body, 'PX', Math.max(1, ttl)),
    );
  }

  async get(resolutionId: string): Promise<ResolutionRecord | null> {
    const body = await redisOp('read resolution', () => this.redis.client.get(`${RESOLUTION_KEY}${resolutionId}`));
    return body === null ? null : (JSON.parse(body) as ResolutionRecord);
  }

  /** Redis expires records itself. */
  prune(_before: number): Promise<number> {
    return Promise.resolve(0);
  }
}

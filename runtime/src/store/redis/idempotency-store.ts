/**
 * Idempotency claims in Redis, shared by every replica: `claim` is one atomic SET NX (a Lua
 * script returns the existing state when the key is taken), `complete` stores the outcome,
 * `release` removes a claim that is still in progress. Claims live until the resolution expires,
 * plus a grace period.
 */
import type { CARPExecutionResult } from '@cra/core';
import type { IdempotencyClaim, IdempotencyStore } from '../ports.js';
import type { RedisConnection } from './client.js';
import { redisOp } from './unavailable.js';

export const IDEMPOTENCY_KEY = 'idempotency:';
const IN_PROGRESS = '{"state":"in_progress"}';

export interface RedisIdempotencyStoreOptions {
  /** How long a claim outlives the resolution's expiry; default 15 minutes. */
  graceMs?: number;
  now?: () => number;
}

type Stored = { state: 'in_progress' } | { state: 'done'; result: CARPExecutionResult };

export class RedisIdempotencyStore implements IdempotencyStore {
  private readonly graceMs: number;
  private readonly now: () => number;

  constructor(
    private readonly redis: RedisConnection,
    options: RedisIdempotencyStoreOptions = {},
  ) {
    this.graceMs = options.graceMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
  }

  private key(resolutionId: string, key: string): string {
    // The resolution id is a UUID (no ':'), so the pair cannot collide whatever the client key holds.
    return `${IDEMPOTENCY_KEY}${resolutionId}:${key}`;
  }

  async claim(resolutionId: string, key: string, expiresAt: number): Promise<IdempotencyClaim> {
    const ttl = Math.max(0, expiresAt - this.now()) + this.graceMs;
    const existing = await redisOp('claim idempotency key', () =>
      this.redis.client.craIdemClaim(this.key(resolutionId, key), IN_PROGRESS, Math.max(1, Math.ceil(ttl))),
    );
    if (existing === null) return { state: 'new' };
    const stored = JSON.parse(existing) as Stored;
    return stored.state === 'done' ? { state: 'done', result: stored.result } : { state: 'in_progress' };
  }

  async complete(resolutionId: string, key: string, result: CARPExecutionResult): Promise<void> {
    const value = JSON.stringify({ state: 'done', result } satisfies Stored);
    await redisOp('complete idempotency key', () =>
      this.redis.client.craIdemComplete(this.key(resolutionId, key), value, this.graceMs),
    );
  }

  async release(resolutionId: string, key: string): Promise<void> {
    await redisOp('release idempotency key', () =>
      this.redis.client.craIdemRelease(this.key(resolutionId, key), IN_PROGRESS),
    );
  }
}

import { gcra } from './gcra.js';
import type { Limit, LimitDecision, RateLimiter } from './types.js';

/**
 * In-process GCRA limiter: the embedded default, and each replica's fallback (with its share of
 * the limit) when Redis is unreachable. Idle buckets are swept.
 */
export class LocalRateLimiter implements RateLimiter {
  private readonly tats = new Map<string, { tat: number; windowMs: number }>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly label = 'local',
  ) {
    this.sweep = setInterval(() => this.evictIdle(), 60_000);
    this.sweep.unref();
  }

  take(key: string, limit: Limit, cost = 1): Promise<LimitDecision> {
    const now = this.now();
    const decision = gcra(this.tats.get(key)?.tat, now, limit, cost);
    if (decision.allowed) this.tats.set(key, { tat: decision.tat, windowMs: limit.windowSeconds * 1000 });
    return Promise.resolve(strip(decision));
  }

  peek(key: string, limit: Limit, cost = 1): Promise<LimitDecision> {
    return Promise.resolve(strip(gcra(this.tats.get(key)?.tat, this.now(), limit, cost)));
  }

  mode(): string {
    return this.label;
  }

  close(): Promise<void> {
    clearInterval(this.sweep);
    return Promise.resolve();
  }

  private evictIdle(): void {
    const now = this.now();
    for (const [key, { tat }] of this.tats) if (tat < now) this.tats.delete(key);
  }
}

function strip(d: LimitDecision & { tat?: number }): LimitDecision {
  return {
    allowed: d.allowed,
    limit: d.limit,
    remaining: d.remaining,
    retryAfterMs: d.retryAfterMs,
    resetMs: d.resetMs,
  };
}

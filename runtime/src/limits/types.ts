export interface Limit {
  requests: number;
  windowSeconds: number;
}

export interface LimitDecision {
  allowed: boolean;
  limit: number;
  /** Requests still available right now. */
  remaining: number;
  /** When refused: milliseconds until one request would be allowed. */
  retryAfterMs: number;
  /** Milliseconds until the bucket is full again. */
  resetMs: number;
}

export interface RateLimiter {
  /** Takes `cost` tokens from the bucket at `key` (GCRA); refused takes nothing. */
  take(key: string, limit: Limit, cost?: number): Promise<LimitDecision>;
  /** The decision `take` would make, without taking anything. */
  peek(key: string, limit: Limit, cost?: number): Promise<LimitDecision>;
  /** `local`, `redis`, or `local-fallback` when the shared store is unreachable. */
  mode(): string;
  /** Detail for /readyz (e.g. the fallback share while Redis is down). */
  health?(): { ok: boolean; mode: string; detail?: string };
  close(): Promise<void>;
}

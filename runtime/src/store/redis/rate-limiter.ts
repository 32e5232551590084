/**
 * The shared rate limiter (CRA-SPEC §9): GCRA in one Redis round trip (`craTakeToken`, timed by
 * the Redis server's clock), so every replica draws from one bucket per key.
 *
 * When Redis errors or is not connected the limiter switches to `local-fallback`: an in-process
 * GCRA with this replica's share of every limit, floor(requests / replicas) and at least 1 —
 * never unlimited. `replicas` is the configured `cluster.replicas`, else the live replicas last
 * seen through the Redis heartbeat. It probes Redis and switches back by itself.
 */
import { LocalRateLimiter } from '../../limits/local-limiter.js';
import type { Limit, LimitDecision, RateLimiter } from '../../limits/types.js';
import type { RedisConnection } from './client.js';
import { ReplicaHeartbeat } from './replicas.js';

export type RedisLimiterMode = 'redis' | 'local-fallback';

export interface LimiterModeChange {
  mode: RedisLimiterMode;
  previous: RedisLimiterMode;
  /** Why it fell back (the Redis error or status); absent when back on Redis. */
  reason?: string;
  /** Replica count the local shares are computed with. */
  replicas: number;
}

export interface LimiterHealth {
  /** The limiter limits in either mode: readiness does not depend on Redis here. */
  ok: boolean;
  mode: RedisLimiterMode;
  replicas: number;
  replicasSource: 'config' | 'heartbeat';
  /** Epoch ms of the last mode change (or the start). */
  since: number;
  detail?: string;
}

export interface RedisRateLimiterOptions {
  /** This replica's id, for its heartbeat key. */
  instanceId: string;
  /** `cluster.replicas`: fixed replica count for the fallback share; default the heartbeat count. */
  replicas?: number;
  /** Prefix of bucket keys (after the client's key prefix); default `ratelimit:`. */
  namespace?: string;
  /** How often Redis is probed while falling back; default 1 s. */
  probeIntervalMs?: number;
  heartbeatIntervalMs?: number;
  heartbeatTtlMs?: number;
  /** Clock of the local fallback. */
  now?: () => number;
  onModeChange?: (change: LimiterModeChange) => void;
}

/** A replica's share of a limit while it limits alone: floor(requests / replicas), at least 1. */
export function shareOf(limit: Limit, replicas: number): Limit {
  return {
    requests: Math.max(1, Math.floor(limit.requests / Math.max(1, replicas))),
    windowSeconds: limit.windowSeconds,
  };
}

export class RedisRateLimiter implements RateLimiter {
  private current: RedisLimiterMode;
  private since = Date.now();
  private reason: string | undefined;
  private local: LocalRateLimiter | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private closed = false;
  private readonly heartbeat: ReplicaHeartbeat | undefined;
  private readonly listeners = new Set<(change: LimiterModeChange) => void>();
  private readonly namespace: string;
  private readonly onReady = () => void this.probe();
  private readonly onDisconnect = () => this.fallBack(`redis ${this.redis.status()}`);

  constructor(
    private readonly redis: RedisConnection,
    private readonly options: RedisRateLimiterOptions,
  ) {
    this.namespace = options.namespace ?? 'ratelimit:';
    if (options.onModeChange) this.listeners.add(options.onModeChange);
    if (options.replicas === undefined) {
      this.heartbeat = new ReplicaHeartbeat(redis, {
        instanceId: options.instanceId,
        ...(options.heartbeatIntervalMs !== undefined ? { intervalMs: options.heartbeatIntervalMs } : {}),
        ...(options.heartbeatTtlMs !== undefined ? { ttlMs: options.heartbeatTtlMs } : {}),
      });
    }
    redis.client.on('ready', this.onReady);
    redis.client.on('close', this.onDisconnect);
    this.current = 'redis';
    if (!redis.isReady()) this.fallBack(`redis ${redis.status()}`, false);
  }

  /** First heartbeat (when the replica count comes from Redis) and its timer. */
  async start(): Promise<void> {
    await this.heartbeat?.start();
  }

  take(key: string, limit: Limit, cost = 1): Promise<LimitDecision> {
    return this.decide(key, limit, cost, true);
  }

  peek(key: string, limit: Limit, cost = 1): Promise<LimitDecision> {
    return this.decide(key, limit, cost, false);
  }

  mode(): RedisLimiterMode {
    return this.current;
  }

  /** Replicas the fallback share divides by. */
  replicas(): number {
    return Math.max(1, this.options.replicas ?? this.heartbeat?.replicas ?? 1);
  }

  /** Subscribes to mode changes (metrics, logs); returns the unsubscribe function. */
  onModeChange(listener: (change: LimiterModeChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  health(): LimiterHealth {
    return {
      ok: true,
      mode: this.current,
      replicas: this.replicas(),
      replicasSource: this.options.replicas === undefined ? 'heartbeat' : 'config',
      since: this.since,
      ...(this.current === 'local-fallback'
        ? { detail: `limiting locally with 1/${this.replicas()} of each limit: ${this.reason ?? 'redis unavailable'}` }
        : {}),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.probeTimer);
    this.redis.client.off('ready', this.onReady);
    this.redis.client.off('close', this.onDisconnect);
    await this.heartbeat?.stop();
    await this.local?.close();
  }

  private async decide(key: string, limit: Limit, cost: number, take: boolean): Promise<LimitDecision> {
    if (this.current === 'redis') {
      if (this.redis.isReady()) {
        try {
          return await this.viaRedis(key, limit, cost, take);
        } catch (err) {
          this.fallBack((err as Error).message);
        }
      } else {
        this.fallBack(`redis ${this.redis.status()}`);
      }
    }
    const local = (this.local ??= new LocalRateLimiter(this.options.now));
    const share = shareOf(limit, this.replicas());
    return take ? local.take(key, share, cost) : local.peek(key, share, cost);
  }

  private async viaRedis(key: string, limit: Limit, cost: number, take: boolean): Promise<LimitDecision> {
    const [allowed, remaining, retryAfterMs, resetMs] = await this.redis.client.craTakeToken(
      `${this.namespace}${key}`,
      limit.requests,
      limit.windowSeconds * 1000,
      cost,
      take ? 1 : 0,
    );
    return { allowed: allowed === 1, limit: limit.requests, remaining, retryAfterMs, resetMs };
  }

  private fallBack(reason: string, announce = true): void {
    if (this.closed || this.current === 'local-fallback') return;
    const previous = this.current;
    this.current = 'local-fallback';
    this.reason = reason;
    this.since = Date.now();
    // A fresh local bucket per outage: it starts full with this replica's share.
    void this.local?.close();
    this.local = new LocalRateLimiter(this.options.now);
    this.probeTimer = setInterval(() => void this.probe(), this.options.probeIntervalMs ?? 1_000);
    this.probeTimer.unref();
    if (announce) this.emit({ mode: this.current, previous, reason, replicas: this.replicas() });
  }

  /** While falling back: back to Redis once it answers. */
  private async probe(): Promise<void> {
    if (this.closed || this.current === 'redis' || this.probing || !this.redis.isReady()) return;
    this.probing = true;
    try {
      await this.redis.client.ping();
      if (this.closed || (this.current as RedisLimiterMode) === 'redis') return; // changed while awaiting
      clearInterval(this.probeTimer);
      this.probeTimer = undefined;
      this.current = 'redis';
      this.reason = undefined;
      this.since = Date.now();
      void this.local?.close();
      this.local = undefined;
      void this.heartbeat?.beat();
      this.emit({ mode: 'redis', previous: 'local-fallback', replicas: this.replicas() });
    } catch {
      // still down; the next probe tries again
    } finally {
      this.probing = false;
    }
  }

  private emit(change: LimiterModeChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // a listener's failure must not affect limiting
      }
    }
  }
}

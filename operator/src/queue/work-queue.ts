/**
 * A work queue with client-go semantics (workqueue.RateLimitingInterface): items are keys; adding
 * a waiting key is a no-op; a key being processed is marked dirty and handed out once more after
 * `done` — so N triggers collapse into one reconcile and a key never runs concurrently with
 * itself. Rate limiting is the max of per-item exponential backoff (5 ms → 1000 s) and a global
 * token bucket (10 qps, burst 100), as client-go's DefaultControllerRateLimiter.
 */

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

export interface RateLimiterOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  qps: number;
  burst: number;
}

export const DEFAULT_RATE_LIMITER: RateLimiterOptions = { baseDelayMs: 5, maxDelayMs: 1_000_000, qps: 10, burst: 100 };

/** Max of per-item exponential backoff and a global token bucket. */
export class ControllerRateLimiter {
  private readonly failures = new Map<string, number>();
  private tokens: number;
  private last: number;

  constructor(
    private readonly options: RateLimiterOptions = DEFAULT_RATE_LIMITER,
    private readonly clock: Pick<Clock, 'now'> = realClock,
  ) {
    this.tokens = options.burst;
    this.last = clock.now();
  }

  /** Delay before `key` may run again (counts a failure). */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const backoff = Math.min(this.options.baseDelayMs * 2 ** n, this.options.maxDelayMs);
    return Math.max(backoff, this.bucketDelay());
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  private bucketDelay(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.options.burst, this.tokens + ((now - this.last) / 1000) * this.options.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.options.qps) * 1000;
  }
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiting = new Map<string, { at: number; timer: { cancel(): void } }>();
  private readonly getters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(
    readonly limiter = new ControllerRateLimiter(),
    private readonly clock: Clock = realClock,
  ) {}

  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // handed out again after done()
    this.push(key);
  }

  /** Adds after `ms`; an earlier pending add of the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) return this.add(key);
    const at = this.clock.now() + ms;
    const pending = this.waiting.get(key);
    if (pending && pending.at <= at) return;
    pending?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.waiting.delete(key);
      this.add(key);
    }, ms);
    this.waiting.set(key, { at, timer });
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.limiter.when(key));
  }

  forget(key: string): void {
    this.limiter.forget(key);
  }

  /** Next key to process, or undefined once shut down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.getters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) this.push(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.waiting.values()) timer.cancel();
    this.waiting.clear();
    for (const resolve of this.getters.splice(0)) resolve(undefined);
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private push(key: string): void {
    const getter = this.getters.shift();
    if (getter) getter(this.take(key));
    else this.queue.push(key);
  }
}

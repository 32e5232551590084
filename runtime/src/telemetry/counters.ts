/**
 * Per-replica counters behind /v1/stats, fed by the domain's observer hooks. The Prometheus
 * metrics hang off the same hooks.
 */
export class Counters {
  private readonly resolutions: Record<string, number> = {};
  private readonly executions: Record<string, number> = {};
  private readonly limited: Record<string, number> = {};
  private cacheHits = 0;
  private cacheMisses = 0;

  resolved(decision: string, _seconds: number, cacheHit: boolean): void {
    this.resolutions[decision] = (this.resolutions[decision] ?? 0) + 1;
    if (cacheHit) this.cacheHits += 1;
    else this.cacheMisses += 1;
  }

  executed(status: string, _seconds: number): void {
    this.executions[status] = (this.executions[status] ?? 0) + 1;
  }

  rateLimited(scope: string): void {
    this.limited[scope] = (this.limited[scope] ?? 0) + 1;
  }

  snapshot(): Record<string, number | Record<string, number>> {
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    return {
      resolutions_total: sum(this.resolutions),
      resolutions_by_decision: { ...this.resolutions },
      actions_total: sum(this.executions),
      actions_by_status: { ...this.executions },
      rate_limited_total: sum(this.limited),
      cache_hits: this.cacheHits,
      cache_misses: this.cacheMisses,
    };
  }
}

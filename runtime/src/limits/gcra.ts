/**
 * The generic cell rate algorithm, pure: state is the theoretical arrival time (TAT). A bucket of
 * `requests` per `windowSeconds` admits a burst of `requests` and refills one every window/requests.
 * The Redis Lua script implements the same arithmetic.
 */
import type { Limit, LimitDecision } from './types.js';

export interface GcraResult extends LimitDecision {
  /** New TAT to store when allowed (epoch ms). */
  tat: number;
}

export function gcra(tat: number | undefined, now: number, limit: Limit, cost = 1): GcraResult {
  const windowMs = limit.windowSeconds * 1000;
  const interval = windowMs / limit.requests;
  // A TAT more than a window ahead can only come from the clock moving backwards: start afresh.
  const current = tat === undefined || tat - now > windowMs ? now : Math.max(tat, now);
  const next = current + interval * cost;
  const used = next - now;
  if (used > windowMs) {
    const retryAfterMs = Math.ceil(used - windowMs);
    return {
      allowed: false,
      limit: limit.requests,
      remaining: Math.max(0, Math.floor((windowMs - (current - now)) / interval)),
      retryAfterMs,
      resetMs: Math.ceil(current - now),
      tat: current,
    };
  }
  return {
    allowed: true,
    limit: limit.requests,
    remaining: Math.max(0, Math.floor((windowMs - used) / interval)),
    retryAfterMs: 0,
    resetMs: Math.ceil(used),
    tat: next,
  };
}

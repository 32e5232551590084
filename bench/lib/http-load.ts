/**
 * Load generators over loopback with keep-alive (undici Pool), measuring latency per request:
 *  - closed loop: `concurrency` workers, each sends its next request when the previous answer is
 *    read; measures capacity (throughput) and latency at that concurrency.
 *  - open loop: requests are sent on a fixed schedule whether or not earlier ones have been
 *    answered; latency is taken from the *scheduled* send time, so a stalled server is not hidden
 *    by the client waiting for it (no coordinated omission).
 */
import { Pool } from 'undici';
import { Samples, summarize, type Summary } from './stats.js';

export interface OutgoingRequest {
  body: string;
  headers?: Record<string, string>;
}

export interface LoadTarget {
  origin: string;
  /**
   * Several replicas of one service: connections are spread evenly over them, as a Kubernetes
   * Service spreads connections over pods (`origin` is the first).
   */
  origins?: readonly string[];
  path: string;
  headers: Record<string, string>;
  /** The n-th request (0-based, across workers) of worker `worker`. */
  request(worker: number, n: number): OutgoingRequest;
}

export interface LoadResult extends Summary {
  errors: number;
  /** Mean response body size. */
  meanBytes: number;
  firstError?: string;
}

/** What one run (or one slice of a run) collected; slices of the same target are merged. */
export interface RawLoad {
  samples: Samples;
  errors: number;
  bytes: number;
  elapsedMs: number;
  /** Every request answered, warm-up included (for per-request server CPU). */
  answered: number;
  firstError?: string;
}

type Tally = Omit<RawLoad, 'elapsedMs' | 'answered'>;

/** One pool per origin of the target, `connections` split between them; `poolFor(i)` round-robins. */
function poolsFor(target: LoadTarget, connections: number): { poolFor(i: number): Pool; close(): Promise<void> } {
  const origins = target.origins && target.origins.length > 0 ? target.origins : [target.origin];
  const each = Math.max(1, Math.ceil(connections / origins.length));
  const pools = origins.map((origin) => new Pool(origin, { connections: each, pipelining: 1 }));
  return {
    poolFor: (i) => pools[i % pools.length]!,
    close: async () => {
      await Promise.all(pools.map((p) => p.close()));
    },
  };
}

async function send(
  pool: Pool,
  target: LoadTarget,
  req: OutgoingRequest,
): Promise<{ ok: boolean; bytes: number; error?: string }> {
  try {
    const res = await pool.request({
      path: target.path,
      method: 'POST',
      headers: { ...target.headers, ...req.headers },
      body: req.body,
    });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      return { ok: false, bytes: 0, error: `HTTP ${res.statusCode}: ${text.slice(0, 300)}` };
    }
    let bytes = 0;
    for await (const chunk of res.body) bytes += (chunk as Buffer).length;
    return { ok: true, bytes };
  } catch (err) {
    return { ok: false, bytes: 0, error: (err as Error).message };
  }
}

function record(tally: Tally, outcome: { ok: boolean; bytes: number; error?: string }, latencyMs: number): void {
  if (outcome.ok) {
    tally.samples.add(latencyMs);
    tally.bytes += outcome.bytes;
  } else {
    tally.errors += 1;
    tally.firstError ??= outcome.error;
  }
}

function result(tally: Tally, elapsedMs: number): LoadResult {
  const summary = summarize(tally.samples, elapsedMs);
  return {
    ...summary,
    errors: tally.errors,
    meanBytes: summary.n > 0 ? Math.round(tally.bytes / summary.n) : 0,
    ...(tally.firstError ? { firstError: tally.firstError } : {}),
  };
}

/** One result from several slices of the same target (interleaved with other targets). */
export function mergeLoads(parts: readonly RawLoad[]): LoadResult {
  const merged: Tally = { samples: new Samples(), errors: 0, bytes: 0 };
  let elapsedMs = 0;
  for (const part of parts) {
    for (const v of part.samples.sorted()) merged.samples.add(v);
    merged.errors += part.errors;
    merged.bytes += part.bytes;
    merged.firstError ??= part.firstError;
    elapsedMs += part.elapsedMs;
  }
  return result(merged, elapsedMs);
}

export async function closedLoop(
  target: LoadTarget,
  options: { concurrency: number; warmupMs: number; durationMs: number },
): Promise<RawLoad> {
  const pools = poolsFor(target, options.concurrency);
  const tally: Tally = { samples: new Samples(), errors: 0, bytes: 0 };
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.durationMs;
  let n = 0;
  let answered = 0;
  let lastDone = measureFrom;
  const worker = async (w: number) => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      const outcome = await send(pools.poolFor(w), target, target.request(w, n++));
      answered += 1;
      const t1 = performance.now();
      if (t0 >= measureFrom) {
        record(tally, outcome, t1 - t0);
        lastDone = Math.max(lastDone, t1);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, w) => worker(w)));
  await pools.close();
  return { ...tally, elapsedMs: lastDone - measureFrom, answered };
}

export interface OpenLoopResult extends LoadResult {
  /** Every request answered, warm-up included. */
  answered: number;
  offeredRate: number;
  /** Scheduled requests not sent because `maxInFlight` were outstanding (the server was saturated). */
  dropped: number;
}

export async function openLoop(
  target: LoadTarget,
  options: { rate: number; warmupMs: number; durationMs: number; connections: number; maxInFlight?: number },
): Promise<OpenLoopResult> {
  const pools = poolsFor(target, options.connections);
  const tally: Tally = { samples: new Samples(), errors: 0, bytes: 0 };
  const interval = 1000 / options.rate;
  const total = Math.round(((options.warmupMs + options.durationMs) / 1000) * options.rate);
  const warmupCount = Math.round((options.warmupMs / 1000) * options.rate);
  const maxInFlight = options.maxInFlight ?? options.connections;
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  const measureFrom = start + warmupCount * interval;
  let lastDone = measureFrom;
  let dropped = 0;
  let answered = 0;
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        const scheduled = start + next * interval;
        const measured = next >= warmupCount;
        if (inFlight.size >= maxInFlight) {
          if (measured) dropped += 1;
          next += 1;
          continue;
        }
        const worker = next % options.connections;
        const p: Promise<void> = send(pools.poolFor(worker), target, target.request(worker, next)).then((outcome) => {
          const done = performance.now();
          answered += 1;
          if (measured) {
            record(tally, outcome, done - scheduled);
            lastDone = Math.max(lastDone, done);
          }
          inFlight.delete(p);
        });
        inFlight.add(p);
        next += 1;
      }
      if (next >= total) return resolve();
      setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    tick();
  });
  await Promise.all([...inFlight]);
  await pools.close();
  const elapsed = Math.max(lastDone - measureFrom, options.durationMs);
  return { ...result(tally, elapsed), offeredRate: options.rate, dropped, answered };
}

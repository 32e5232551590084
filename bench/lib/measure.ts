/**
 * In-process measurement of synchronous operations. A subject and its baseline are measured in
 * alternating slices, so background load on the machine (or a GC-heavy phase) hits both alike and
 * the ratio stays meaningful on a busy host.
 */
import { Samples, summarize, type Summary } from './stats.js';

export type Op = (i: number) => unknown;

// Results go here so the work cannot be optimised away.
let sink: unknown;
export const blackhole = (): unknown => sink;

function run(op: Op, ms: number, samples: Samples | undefined, counter: { i: number }): number {
  const start = performance.now();
  const end = start + ms;
  let t = start;
  while (t < end) {
    const t0 = t;
    sink = op(counter.i++);
    t = performance.now();
    samples?.add(t - t0);
  }
  return t - start;
}

export function measurePair(
  ops: { subject: Op; baseline: Op },
  options: { warmupMs: number; durationMs: number; slices?: number },
): { subject: Summary; baseline: Summary } {
  const slices = options.slices ?? 4;
  const sliceMs = options.durationMs / slices;
  const counters = { subject: { i: 0 }, baseline: { i: 0 } };
  run(ops.baseline, options.warmupMs / 2, undefined, counters.baseline);
  run(ops.subject, options.warmupMs / 2, undefined, counters.subject);
  const samples = { subject: new Samples(), baseline: new Samples() };
  const elapsed = { subject: 0, baseline: 0 };
  for (let s = 0; s < slices; s++) {
    elapsed.baseline += run(ops.baseline, sliceMs, samples.baseline, counters.baseline);
    elapsed.subject += run(ops.subject, sliceMs, samples.subject, counters.subject);
  }
  return {
    subject: summarize(samples.subject, elapsed.subject),
    baseline: summarize(samples.baseline, elapsed.baseline),
  };
}

export type AsyncOp = (i: number) => Promise<unknown>;

async function runAsync(
  op: AsyncOp,
  ms: number,
  samples: Samples | undefined,
  counter: { i: number },
): Promise<number> {
  const start = performance.now();
  const end = start + ms;
  let t = start;
  while (t < end) {
    const t0 = t;
    sink = await op(counter.i++);
    t = performance.now();
    samples?.add(t - t0);
  }
  return t - start;
}

/** Several async operations (one at a time) in round-robin slices; summaries keyed like `ops`. */
export async function measureInterleaved<K extends string>(
  ops: Record<K, AsyncOp>,
  options: { warmupMs: number; durationMs: number; slices?: number },
): Promise<Record<K, Summary>> {
  const keys = Object.keys(ops) as K[];
  const slices = options.slices ?? 4;
  const sliceMs = options.durationMs / slices;
  const state = new Map(keys.map((k) => [k, { counter: { i: 0 }, samples: new Samples(), elapsed: 0 }]));
  for (const k of keys) await runAsync(ops[k], options.warmupMs / keys.length, undefined, state.get(k)!.counter);
  for (let s = 0; s < slices; s++) {
    for (const k of keys) {
      const st = state.get(k)!;
      st.elapsed += await runAsync(ops[k], sliceMs, st.samples, st.counter);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, summarize(state.get(k)!.samples, state.get(k)!.elapsed)])) as Record<
    K,
    Summary
  >;
}

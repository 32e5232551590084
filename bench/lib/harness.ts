/**
 * The contract between `bench/run.ts` and the `*.bench.ts` files: a benchmark returns rows, and a
 * row names the baseline row (measured in the same run) it is compared with.
 */
import type { Summary } from './stats.js';

export interface BenchContext {
  /** Short durations for a smoke run. */
  quick: boolean;
  /** Scratch directory for this run (removed afterwards). */
  tmpDir: string;
  /** Where profiles and other artefacts go (bench/out, not committed). */
  outDir: string;
  log(message: string): void;
}

export interface Row extends Summary {
  name: string;
  /** Name of the row this one is compared with; absent for baselines. */
  baseline?: string;
  /** Requests that failed (non-2xx or transport errors); they are not in the percentiles. */
  errors?: number;
  note?: string;
}

export interface Section {
  title: string;
  markdown: string;
}

export interface BenchReport {
  rows: Row[];
  /** Extra prose for RESULTS.md (e.g. where the time goes). */
  sections?: Section[];
  /** One-line findings printed after the table and listed in RESULTS.md. */
  notes?: string[];
}

export interface Benchmark {
  /** Selected with `--only <name>` (substring match). */
  name: string;
  title: string;
  /** What is measured and against which baseline, for RESULTS.md. */
  description: string;
  run(ctx: BenchContext): Promise<BenchReport>;
}

/** A duration in ms: `full` seconds in a full run, `quick` seconds in a `--quick` one. */
export function durationFor(ctx: BenchContext, full: number, quick: number): number {
  return (ctx.quick ? quick : full) * 1000;
}

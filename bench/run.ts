/**
 * Runs the benchmarks (every `bench/*.bench.ts` exporting `benchmarks`), prints a table per
 * benchmark and rewrites bench/RESULTS.md. Every row is compared with a baseline measured in the
 * same run, so the ratios mean something on any machine; the absolute numbers are this machine's.
 *
 *   npx tsx bench/run.ts [--quick] [--only <name>] [--out <file>]
 *
 * `--quick` (short durations, a smoke run) and `--only` write bench/out/RESULTS.md unless `--out`
 * says otherwise, so the committed RESULTS.md always holds a full run.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchContext, BenchReport, Benchmark, Row } from './lib/harness.js';
import { machineInfo } from './lib/machine.js';

const here = fileURLToPath(new URL('.', import.meta.url));

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write('usage: npx tsx bench/run.ts [--quick] [--only <name>] [--out <file>]\n');
  process.exit(0);
}

async function discover(): Promise<Benchmark[]> {
  const files = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
  const all: Benchmark[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as { benchmarks?: Benchmark[] };
    if (!Array.isArray(mod.benchmarks)) throw new Error(`${file} exports no "benchmarks" array`);
    all.push(...mod.benchmarks);
  }
  return all;
}

// ---------------------------------------------------------------------------------------------
// formatting

function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (value < 1) return `${(value * 1000).toFixed(value < 0.01 ? 2 : 1)} µs`;
  if (value < 100) return `${value.toFixed(2)} ms`;
  return `${value.toFixed(0)} ms`;
}

function ops(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

function ratio(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return `${value >= 10 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toFixed(3)}×`;
}

const HEADER = ['Benchmark', 'ops/s', 'p50', 'p99', 'ops/s ÷ base', 'p50 ÷ base', 'p99 ÷ base', 'n', 'Notes'];

function cells(row: Row, rows: readonly Row[]): string[] {
  const base = row.baseline ? rows.find((r) => r.name === row.baseline) : undefined;
  const notes = [row.note, row.errors ? `${row.errors} failed` : undefined].filter(Boolean).join('; ');
  return [
    base ? row.name : `${row.name} _(baseline)_`,
    ops(row.opsPerSec),
    ms(row.p50Ms),
    ms(row.p99Ms),
    base ? ratio(row.opsPerSec / base.opsPerSec) : '—',
    base ? ratio(row.p50Ms / base.p50Ms) : '—',
    base ? ratio(row.p99Ms / base.p99Ms) : '—',
    String(row.n),
    notes,
  ];
}

function markdownTable(rows: readonly Row[]): string {
  const lines = [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, i) => (i === 0 || i === 8 ? '---' : '---:')).join('|')}|`,
  ];
  for (const row of rows) lines.push(`| ${cells(row, rows).join(' | ')} |`);
  return lines.join('\n');
}

function consoleTable(rows: readonly Row[]): string {
  const table = [HEADER.slice(0, 8), ...rows.map((r) => cells(r, rows).slice(0, 8))].map((cols) =>
    cols.map((c) => c.replace(/_\(baseline\)_/, '(baseline)')),
  );
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return table
    .map((cols, k) => {
      const line = cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      return k === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}

// ---------------------------------------------------------------------------------------------

interface Outcome {
  bench: Benchmark;
  report?: BenchReport;
  error?: Error;
  seconds: number;
}

function machineMarkdown(machine: ReturnType<typeof machineInfo>, totalS: number): string[] {
  const run = `${args.quick ? 'quick (smoke: short durations)' : 'full'}${args.only ? `, only "${args.only}"` : ''}`;
  return [
    '## Machine',
    '',
    '| | |',
    '|---|---|',
    `| CPU | ${machine.cpu} |`,
    `| Cores | ${machine.cores} |`,
    `| Memory | ${machine.memoryGiB} GiB |`,
    `| Node.js | ${machine.node} (${machine.platform}) |`,
    `| Date | ${machine.date} |`,
    `| Load average at start (1/5/15 min) | ${machine.loadAverage} |`,
    `| Commit | ${machine.commit} |`,
    `| Run | ${run}, ${totalS.toFixed(0)} s |`,
  ];
}

function resultsMarkdown(outcomes: readonly Outcome[], machine: ReturnType<typeof machineInfo>, totalS: number) {
  const out: string[] = [
    '# Benchmark results',
    '',
    `_Written by \`${args.quick ? 'npx tsx bench/run.ts --quick' : 'make bench'}\` (bench/run.ts); do not edit by hand. ` +
      'How to run them and how to read the ratios: [README.md](README.md)._',
    '',
    ...machineMarkdown(machine, totalS),
    '',
    'Ratios compare each row with its baseline row, measured in the same run: `ops/s ÷ base` below 1 means ' +
      'slower than the baseline; `p50 ÷ base` and `p99 ÷ base` above 1 mean higher latency. The absolute ' +
      'numbers are this machine at this moment (the load generator shares the cores with the server).',
  ];
  const findings: string[] = [];
  const sections: string[] = [];
  for (const { bench, report, error, seconds } of outcomes) {
    findings.push(...(report?.notes ?? []));
    for (const section of report?.sections ?? []) sections.push(`## ${section.title}`, '', section.markdown, '');
    if (report && report.rows.length === 0) continue;
    out.push('', `## ${bench.title} (\`${bench.name}\`, ${seconds.toFixed(0)} s)`, '', bench.description, '');
    out.push(error ? `**Failed:** \`${error.message}\`` : markdownTable(report!.rows));
  }
  if (findings.length > 0) out.push('', '## Findings', '', ...findings.map((f) => `- ${f}`));
  if (sections.length > 0) out.push('', ...sections);
  return `${out.join('\n').trimEnd()}\n`;
}

async function main(): Promise<void> {
  const machine = machineInfo();
  const started = performance.now();
  const outDir = join(here, 'out');
  await mkdir(outDir, { recursive: true });
  const tmpDir = await mkdtemp(join(tmpdir(), 'cra-bench-'));
  const log = (message: string) =>
    process.stderr.write(`  · [${((performance.now() - started) / 1000).toFixed(1)} s] ${message}\n`);
  const ctx: BenchContext = { quick: args.quick, tmpDir, outDir, log };

  const selected = (await discover()).filter((b) => !args.only || b.name.includes(args.only));
  if (selected.length === 0) throw new Error(`no benchmark matches --only ${args.only}`);
  process.stdout.write(
    `CRA benchmarks${args.quick ? ' (quick)' : ''}: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ` +
      `load ${machine.loadAverage}\n`,
  );

  const outcomes: Outcome[] = [];
  try {
    for (const bench of selected) {
      process.stdout.write(`\n== ${bench.title} (${bench.name})\n`);
      const t0 = performance.now();
      try {
        const report = await bench.run(ctx);
        outcomes.push({ bench, report, seconds: (performance.now() - t0) / 1000 });
        if (report.rows.length > 0) process.stdout.write(`${consoleTable(report.rows)}\n`);
        for (const note of report.notes ?? []) process.stdout.write(`  ${note}\n`);
      } catch (err) {
        outcomes.push({ bench, error: err as Error, seconds: (performance.now() - t0) / 1000 });
        process.stdout.write(`  FAILED: ${(err as Error).stack ?? String(err)}\n`);
      }
    }
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }

  const totalS = (performance.now() - started) / 1000;
  const file = args.out ?? (args.quick || args.only ? join(outDir, 'RESULTS.md') : join(here, 'RESULTS.md'));
  await writeFile(file, resultsMarkdown(outcomes, machine, totalS));
  process.stdout.write(`\n${totalS.toFixed(0)} s; wrote ${relative(process.cwd(), file)}\n`);
  if (outcomes.some((o) => o.error)) process.exitCode = 1;
}

await main();

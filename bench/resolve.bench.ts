/**
 * Resolve, in process and over HTTP, each against a baseline measured in the same run:
 *  - resolve-inprocess: planResolution + materializeResolution vs JSON.parse(JSON.stringify(answer))
 *  - resolve-http: a listening runtime (embedded PGlite, sync durability, auth on) vs a bare
 *    fastify server answering the same JSON, closed loop (capacity) and open loop (fixed rate),
 *    then a profiled phase (V8 CPU profile of the runtime, SQL statements counted)
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { materializeResolution, planResolution, randomIds, type CARPResolution, type ResolveRequest } from '@cra/core';
import { durationFor, type BenchContext, type Benchmark, type Row, type Section } from './lib/harness.js';
import {
  REQUEST_MIX,
  referenceBundle,
  resolveRequest,
  type ReferenceBundle,
  type RequestCase,
} from './lib/fixtures.js';
import { closedLoop, mergeLoads, openLoop, type LoadResult, type RawLoad } from './lib/http-load.js';
import { measurePair } from './lib/measure.js';
import { freshDataDir } from './lib/pglite-template.js';
import { summarizeProfile, type FunctionMatcher, type ProfileSummary } from './lib/profile.js';
import { startServer, type ServerProcess, type SqlStats } from './lib/server.js';
import { resolveTarget, stats } from './lib/targets.js';

const CONCURRENCY = 16;
const OPEN_LOOP_CONNECTIONS = 64;

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

/** planResolution + materializeResolution (and nothing else), as the runtime does on a cache miss. */
function resolveWith(bundle: ReferenceBundle): (request: ResolveRequest) => CARPResolution {
  const { index, principal, config } = bundle;
  return (request) => {
    const now = Date.now();
    const plan = planResolution({ request, index, principal, now, defaults: config.resolver });
    return materializeResolution({
      plan,
      request,
      ids: randomIds,
      now,
      telemetry: { trace_id: randomIds.traceId(), span_id: randomIds.spanId(), events_emitted: 0 },
    }).resolution;
  };
}

// ---------------------------------------------------------------------------------------------
// (a) in process

const inProcess: Benchmark = {
  name: 'resolve-inprocess',
  title: 'Resolve in process',
  description:
    '`planResolution` + `materializeResolution` on the reference atlases bundle (dev-agent, three atlases) ' +
    'for the request mix, per risk tier and overall (each tier with and without context hints). ' +
    'Baseline: `JSON.parse(JSON.stringify(resolution))` of the same answers — the cost of merely copying ' +
    'the answer. Subject and baseline run in alternating slices.',
  async run(ctx) {
    const bundle = await referenceBundle();
    const resolve = resolveWith(bundle);
    // A smoke run measures the mix only.
    const tiers = ctx.quick ? [] : (['low', 'medium', 'high'] as const);
    const groups: [string, RequestCase[]][] = [
      ['mix', [...REQUEST_MIX]],
      ...tiers.map((tier): [string, RequestCase[]] => [tier, REQUEST_MIX.filter((c) => c.risk === tier)]),
    ];
    const rows: Row[] = [];
    for (const [group, cases] of groups) {
      const requests = cases.map((c) => resolveRequest(c));
      const answers = requests.map(resolve);
      const meanBytes = answers.reduce((n, a) => n + JSON.stringify(a).length, 0) / answers.length;
      ctx.log(`in-process ${group}: ${cases.length} request(s), mean answer ${kb(meanBytes)}`);
      const result = measurePair(
        {
          subject: (i) => resolve(requests[i % requests.length]!),
          baseline: (i) => JSON.parse(JSON.stringify(answers[i % answers.length]!)) as unknown,
        },
        { warmupMs: durationFor(ctx, 0.6, 0.2), durationMs: durationFor(ctx, 2.4, 0.4) },
      );
      const base = `copy of the answer (${group})`;
      rows.push({ name: base, ...result.baseline, note: `mean answer ${kb(meanBytes)}` });
      rows.push({
        name: `plan + materialize (${group})`,
        baseline: base,
        ...result.subject,
        note: cases.map((c) => c.id).join(', '),
      });
    }
    return { rows };
  },
};

// ---------------------------------------------------------------------------------------------
// (b, c) over HTTP

async function startPair(ctx: BenchContext): Promise<{ cra: ServerProcess; bare: ServerProcess }> {
  // The bare server answers with the same resolutions the runtime gives for the mix.
  const resolve = resolveWith(await referenceBundle());
  const payloadsFile = join(ctx.tmpDir, 'bare-payloads.json');
  await writeFile(payloadsFile, JSON.stringify(REQUEST_MIX.map((c) => resolve(resolveRequest(c)))));
  const dataDir = await freshDataDir(join(ctx.tmpDir, 'cra-data'), ctx.log);
  ctx.log('starting the runtime (embedded PGlite, sync durability, auth required) and a bare fastify server…');
  const [cra, bare] = await Promise.all([
    startServer({ kind: 'cra', dataDir }),
    startServer({ kind: 'bare', payloadsFile }),
  ]);
  return { cra, bare };
}

function row(name: string, result: LoadResult, extra: Partial<Row> = {}): Row {
  const { firstError: _firstError, meanBytes, ...summary } = result;
  return { name, ...summary, ...extra, note: [`${kb(meanBytes)}/answer`, extra.note].filter(Boolean).join('; ') };
}

const http: Benchmark = {
  name: 'resolve-http',
  title: 'Resolve over HTTP',
  description:
    '`POST /v1/resolve` on a listening runtime in its own process: embedded store (PGlite in a temp data ' +
    'dir), durability `sync`, auth required (API key `dev-agent-key`), request logging off, the mix of the ' +
    'in-process benchmark, one CARP session per client connection. Driven over loopback with keep-alive ' +
    `(undici) at concurrency ${CONCURRENCY} (closed loop), then at fixed rates (open loop, latency from the ` +
    'scheduled send time). "cache off" makes every goal unique, so every request is planned; "cache hits" ' +
    'repeats the mix, so all but the first of each case are answered from the resolution cache. ' +
    'Baseline: a bare fastify server on loopback answering the same resolution JSON from a POST route, with ' +
    'the same client, concurrency, rate and payload sizes. Closed-loop targets run in alternating slices. ' +
    'Last, a cache-off closed-loop phase runs under the V8 CPU profiler (see "Where the time goes"; not a ' +
    'measurement).',
  async run(ctx) {
    const { cra, bare } = await startPair(ctx);
    const rows: Row[] = [];
    const notes: string[] = [];
    const sections: Section[] = [];
    try {
      const closed = await closedLoopPhase(ctx, cra, bare);
      rows.push(...closed.rows);
      notes.push(...closed.notes);
      const open = await openLoopPhase(ctx, cra, bare);
      rows.push(...open.rows);
      notes.push(...open.notes);
      try {
        const profiled = await profilePhase(ctx, cra);
        sections.push(profiled.section);
        notes.push(profiled.note);
      } catch (err) {
        notes.push(`The profiled phase failed: ${(err as Error).message}`);
      }
      const at500 = rows.find((r) => r.name.startsWith('CRA resolve, cache off @ 500'))!;
      notes.push(
        `Production target p99 < 10 ms at 500 req/s: embedded mode gives p99 ${ms(at500.p99Ms)} at ` +
          `${at500.opsPerSec.toFixed(0)} req/s achieved (${at500.p99Ms < 10 && at500.opsPerSec > 475 ? 'met' : 'NOT met'}); ` +
          `closed-loop capacity with cache off is ${closed.uncachedOpsPerSec.toFixed(0)} req/s.`,
      );
    } finally {
      await Promise.all([cra.stop(), bare.stop()]);
    }
    return { rows, notes, sections };
  },
};

const ms = (x: number) => (x >= 100 ? `${x.toFixed(0)} ms` : `${x.toFixed(1)} ms`);

/** Server CPU per answered request (the server process's own CPU clock) and its event-loop delay. */
async function withServerCpu<T extends { answered: number }>(
  server: ServerProcess,
  run: () => Promise<T>,
): Promise<{ result: T; cpuMs: number; loopDelayMaxMs: number }> {
  const before = await server.cpu();
  const result = await run();
  const after = await server.cpu();
  return { result, cpuMs: after.ms - before.ms, loopDelayMaxMs: after.loopDelay.maxMs };
}

const cpuNote = (cpuMs: number, answered: number, loopDelayMaxMs: number) =>
  answered > 0
    ? `server CPU ${(cpuMs / answered).toFixed(2)} ms/req, event-loop delay max ${ms(loopDelayMaxMs)}`
    : undefined;

async function closedLoopPhase(ctx: BenchContext, cra: ServerProcess, bare: ServerProcess) {
  const servers = { bare, uncached: cra, cached: cra };
  const targets = {
    bare: resolveTarget(bare.origin, { unique: false, tag: 'bare', sessions: CONCURRENCY }),
    uncached: resolveTarget(cra.origin, { unique: true, tag: 'closed', sessions: CONCURRENCY }),
    cached: resolveTarget(cra.origin, { unique: false, tag: 'cached', sessions: CONCURRENCY }),
  };
  const order = ['bare', 'uncached', 'cached'] as const;
  type Which = (typeof order)[number];
  type Acc = { parts: RawLoad[]; cpuMs: number; answered: number; loopDelayMaxMs: number };
  const fresh = (): Acc => ({ parts: [], cpuMs: 0, answered: 0, loopDelayMaxMs: 0 });
  const acc: Record<Which, Acc> = { bare: fresh(), uncached: fresh(), cached: fresh() };
  for (const which of order) {
    ctx.log(`closed loop warm-up: ${which}`);
    await closedLoop(targets[which], { concurrency: CONCURRENCY, warmupMs: 0, durationMs: durationFor(ctx, 2, 0.3) });
  }
  const cache = { hits: 0, misses: 0 };
  const slices = ctx.quick ? 1 : 4;
  for (let s = 0; s < slices; s++) {
    for (const which of order) {
      ctx.log(`closed loop c=${CONCURRENCY}: ${which}, slice ${s + 1}/${slices}`);
      const before = which === 'cached' ? await stats(cra.origin) : undefined;
      const { result, cpuMs, loopDelayMaxMs } = await withServerCpu(servers[which], () =>
        closedLoop(targets[which], { concurrency: CONCURRENCY, warmupMs: 200, durationMs: durationFor(ctx, 2, 0.8) }),
      );
      if (before) {
        const after = await stats(cra.origin);
        cache.hits += after.cache_hits - before.cache_hits;
        cache.misses += after.cache_misses - before.cache_misses;
      }
      acc[which].parts.push(result);
      acc[which].cpuMs += cpuMs;
      acc[which].answered += result.answered;
      acc[which].loopDelayMaxMs = Math.max(acc[which].loopDelayMaxMs, loopDelayMaxMs);
    }
  }
  const merged = Object.fromEntries(order.map((w) => [w, mergeLoads(acc[w].parts)])) as Record<Which, LoadResult>;
  const notes = order
    .filter((w) => merged[w].errors > 0)
    .map((w) => `closed loop ${w}: ${merged[w].errors} failed request(s), first: ${merged[w].firstError}`);
  const cpu = (w: Which) => cpuNote(acc[w].cpuMs, acc[w].answered, acc[w].loopDelayMaxMs);
  const bareName = `bare fastify, same JSON (c=${CONCURRENCY})`;
  const rows = [
    row(bareName, merged.bare, { note: cpu('bare') }),
    row(`CRA resolve, cache off (c=${CONCURRENCY})`, merged.uncached, { baseline: bareName, note: cpu('uncached') }),
    row(`CRA resolve, cache hits (c=${CONCURRENCY})`, merged.cached, {
      baseline: bareName,
      note: [cpu('cached'), `${cache.hits} cache hits, ${cache.misses} misses`].join('; '),
    }),
  ];
  return { rows, notes, uncachedOpsPerSec: merged.uncached.opsPerSec };
}

/** Fixed rates, cache off; latency from the scheduled send time. */
async function openLoopPhase(ctx: BenchContext, cra: ServerProcess, bare: ServerProcess) {
  const rows: Row[] = [];
  const notes: string[] = [];
  const rates = [
    { rate: 200, durationMs: durationFor(ctx, 8, 1) },
    { rate: 500, durationMs: durationFor(ctx, 5, 1) },
  ];
  for (const { rate, durationMs } of rates) {
    const options = { rate, durationMs, warmupMs: durationFor(ctx, 1, 0.2), connections: OPEN_LOOP_CONNECTIONS };
    ctx.log(`open loop ${rate} req/s: bare`);
    const b = await withServerCpu(bare, () =>
      openLoop(resolveTarget(bare.origin, { unique: false, tag: 'x', sessions: 64 }), options),
    );
    ctx.log(`open loop ${rate} req/s: CRA (cache off)`);
    const c = await withServerCpu(cra, () =>
      openLoop(resolveTarget(cra.origin, { unique: true, tag: `open${rate}`, sessions: 64 }), options),
    );
    const baseName = `bare fastify @ ${rate} req/s (open loop)`;
    rows.push(row(baseName, b.result, { note: cpuNote(b.cpuMs, b.result.answered, b.loopDelayMaxMs) }));
    const r = c.result;
    const saturated = r.dropped > 0 || r.opsPerSec < rate * 0.95;
    const scheduled = r.dropped + r.n + r.errors;
    rows.push(
      row(`CRA resolve, cache off @ ${rate} req/s (open loop)`, r, {
        baseline: baseName,
        note: [
          cpuNote(c.cpuMs, r.answered, c.loopDelayMaxMs),
          saturated
            ? `SATURATED: ${r.dropped} of ${scheduled} scheduled requests not sent (${OPEN_LOOP_CONNECTIONS} were outstanding)`
            : undefined,
        ]
          .filter(Boolean)
          .join('; '),
      }),
    );
    for (const [name, res] of [
      ['bare', b.result],
      ['CRA', r],
    ] as const) {
      if (res.errors > 0) notes.push(`open loop ${rate}/s ${name}: ${res.errors} failed, first: ${res.firstError}`);
    }
  }
  return { rows, notes };
}

// ---------------------------------------------------------------------------------------------
// Where the time goes

/** Functions whose inclusive (synchronous) CPU time is reported. */
const INCLUSIVE: FunctionMatcher[] = [
  { label: 'PGlite `execProtocolRawSync`: Postgres (WASM) running the statements', name: 'execProtocolRawSync' },
  { label: '… of which PGlite file system calls (`tryFSOperation` → fs.*Sync)', name: 'tryFSOperation' },
  { label: 'core `validateCarpRequest`', name: 'validateCarpRequest' },
  { label: 'core `planResolution`', name: 'planResolution' },
  { label: 'core `materializeResolution`', name: 'materializeResolution' },
  { label: 'runtime `Tracer.draft` (redacts each event payload)', name: 'draft', url: '/domain/tracer.' },
  { label: 'core `sealEvents` (TRACE hash chain: canonical JSON + SHA-256)', name: 'sealEvents' },
  {
    label: 'runtime `SqlTraceStore.append`, synchronous part (9 params per event, JSON.stringify)',
    name: 'append',
    url: '/sql/trace-store.',
  },
  {
    label: 'runtime `SqlResolutionStore.put`, synchronous part (JSON.stringify of the answer)',
    name: 'put',
    url: '/sql/resolution-store.',
  },
  { label: 'fastify `serialize` (fast-json-stringify, CARPResolution schema)', name: 'serialize', url: '/fastify/' },
  { label: 'fastify `rawBody` (reads and JSON-parses the request)', name: 'rawBody', url: '/fastify/' },
];

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

function profileMarkdown(p: ProfileSummary, sql: SqlStats, requests: number, seconds_: number): string {
  const perReq = (x: number) => (requests > 0 ? x / requests : 0);
  const us = (x: number) => (perReq(x) * 1000).toFixed(0);
  const lines: string[] = [
    `V8 CPU profile of the runtime process (the profiler \`node --cpu-prof\` uses, started over \`node:inspector\`, ` +
      `250 µs sampling) during ${seconds_.toFixed(1)} s of closed-loop resolve at c=${CONCURRENCY}, cache off: ` +
      `${requests} requests; the main thread was busy ${p.busyMs.toFixed(0)} ms of ${p.totalMs.toFixed(0)} ms ` +
      `(**${us(p.busyMs)} µs per request**; on a loaded host this includes time the thread was descheduled).`,
    '',
    `SQL in the same window: **${perReq(sql.statements).toFixed(1)} statements per request** ` +
      `(${perReq(sql.transactions).toFixed(2)} transactions, each adding BEGIN and COMMIT), ` +
      `${perReq(sql.statementMs).toFixed(2)} ms per request awaiting statements (wall time, including waits for ` +
      `PGlite's single connection), ${perReq(sql.transactionMs).toFixed(2)} ms per request inside transactions.`,
    '',
    '**By area** (self time)',
    '',
    '| Area | ms | share of busy | µs/request |',
    '|---|---:|---:|---:|',
    ...p.byArea.slice(0, 14).map((a) => `| ${a.area} | ${a.ms.toFixed(0)} | ${pct(a.share)} | ${us(a.ms)} |`),
    '',
    '**Top functions by self time**',
    '',
    '| Function | Where | Area | share of busy |',
    '|---|---|---|---:|',
    ...p.topSelf.map((f) => `| \`${f.name}\` | ${f.where ? `\`${f.where}\`` : ''} | ${f.area} | ${pct(f.share)} |`),
    '',
    '**Inclusive time of selected functions** (synchronous stacks only: work after an `await` is counted ' +
      'where it resumes, so async store calls show only their synchronous part)',
    '',
    '| Function | ms | share of busy | µs/request |',
    '|---|---:|---:|---:|',
    ...p.inclusive.map((f) => `| ${f.name} | ${f.ms.toFixed(0)} | ${pct(f.share)} | ${us(f.ms)} |`),
  ];
  return lines.join('\n');
}

/** A cache-off closed-loop phase with the server's CPU profiler on; the raw profile goes to bench/out/. */
async function profilePhase(ctx: BenchContext, cra: ServerProcess): Promise<{ section: Section; note: string }> {
  const file = join(ctx.outDir, 'resolve-http.cpuprofile');
  const durationMs = durationFor(ctx, 6, 1.5);
  ctx.log(`profiling the runtime: closed loop c=${CONCURRENCY}, cache off, ${durationMs / 1000} s`);
  const target = resolveTarget(cra.origin, { unique: true, tag: 'prof', sessions: CONCURRENCY });
  await cra.startProfile();
  const t0 = performance.now();
  const result = mergeLoads([await closedLoop(target, { concurrency: CONCURRENCY, warmupMs: 0, durationMs })]);
  const sql = await cra.stopProfile(file);
  const elapsedS = (performance.now() - t0) / 1000;
  const summary = await summarizeProfile(file, INCLUSIVE);
  const note =
    `_Under the profiler: ${result.opsPerSec.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(1)} ms, ` +
    `p99 ${result.p99Ms.toFixed(1)} ms (use the rows above for speed). Raw profile: ` +
    'bench/out/resolve-http.cpuprofile (open in Chrome DevTools → Performance)._';
  const requests = result.n + result.errors;
  const share = (prefix: string) =>
    summary.byArea.filter((a) => a.area.startsWith(prefix)).reduce((n, a) => n + a.share, 0);
  const incl = (prefix: string) => summary.inclusive.find((f) => f.name.startsWith(prefix))?.share ?? 0;
  return {
    section: {
      title: 'Where the time goes',
      markdown: `${profileMarkdown(summary, sql, requests, elapsedS)}\n\n${note}`,
    },
    note:
      `Profile (cache off): ${(summary.busyMs / Math.max(1, requests)).toFixed(1)} ms of server main-thread time per ` +
      `resolve; PGlite ${pct(share('PGlite'))} of it (Postgres executing statements: ${pct(incl('PGlite `execProtocolRawSync`'))}), ` +
      `TRACE hash chain ${pct(incl('core `sealEvents`'))}, event redaction ${pct(incl('runtime `Tracer.draft`'))}, ` +
      `planning + materializing ${pct(incl('core `planResolution`') + incl('core `materializeResolution`'))}; ` +
      `${(sql.statements / Math.max(1, requests)).toFixed(1)} SQL statements per resolve.`,
  };
}

export const benchmarks: Benchmark[] = [inProcess, http];

/**
 * Production mode: the runtime as deployed — store.kind postgres (durability sync: every TRACE
 * append committed before the reply), redis.url set (shared GCRA limits, resolutions, idempotency,
 * resolution cache), auth on (API key) — against a bare fastify route answering the same JSON and
 * against the embedded-mode runtime, all measured in the same run; then its two shared stores
 * alone:
 *  - production-http: resolve (cache off / cache hits) and execute (a low-risk action whose
 *    executor POSTs to a local node:http target), closed loop c=16 and open loop 500 req/s, and a
 *    profiled phase at 500 req/s (V8 CPU profile, SQL round trips, Redis commands, service CPU)
 *  - production-limiter: RedisRateLimiter.take from Node vs `redis-benchmark` EVALSHA of the same
 *    GCRA script
 *  - production-trace-store: SqlTraceStore.append into Postgres vs a plain multi-row INSERT, an
 *    INSERT … SELECT FROM unnest and `psql \copy` of the same rows
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { randomIds, type CARPResolution, type EventDraft, type TraceEvent } from '@cra/core';
import { Redis } from 'ioredis';
import { startPostgres, type PostgresInstance } from '../e2e/harness/postgres.js';
import { startRedis, type RedisInstance } from '../e2e/harness/redis.js';
import { Tracer } from '../runtime/dist/domain/tracer.js';
import { openPostgres } from '../runtime/dist/store/postgres/pg-client.js';
import { createRedis } from '../runtime/dist/store/redis/client.js';
import { GCRA_LUA } from '../runtime/dist/store/redis/gcra-script.js';
import { RedisRateLimiter } from '../runtime/dist/store/redis/rate-limiter.js';
import { createSqlStores } from '../runtime/dist/store/sql/stores.js';
import type { SqlClient } from '../runtime/dist/store/sql/client.js';
import { AGENT_ID, REQUEST_MIX, referenceBundle, repo, resolver, resolveRequest } from './lib/fixtures.js';
import { durationFor, type BenchContext, type Benchmark, type Row, type Section } from './lib/harness.js';
import { closedLoop, mergeLoads, openLoop, type LoadResult, type LoadTarget, type RawLoad } from './lib/http-load.js';
import { startHttpTarget, type HttpTarget } from './lib/http-target.js';
import { freshDataDir } from './lib/pglite-template.js';
import { groupCpuMs, type ProcGroup } from './lib/proc-cpu.js';
import { summarizeProfile, type FunctionMatcher, type ProfileSummary } from './lib/profile.js';
import { startServer, type ServerCpu, type ServerProcess, type SqlStats } from './lib/server.js';
import { Samples, summarize, type Summary } from './lib/stats.js';
import { executeGrants, executeOnce, executeTarget, resolveTarget, stats } from './lib/targets.js';
import { payloadRedactor } from './lib/redactor.js';

const run = promisify(execFile);

const CONCURRENCY = 16;
const RATE = 500;
const OPEN_LOOP_CONNECTIONS = 64;
/** The issue's target: resolve p99 under this at RATE req/s, everything on. */
const TARGET_P99_MS = 10;
/** Lower open-loop rates for production resolve (full runs only). */
const SWEEP_RATES = [100, 200, 300];

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;
const fmtMs = (x: number) => (x >= 100 ? `${x.toFixed(0)} ms` : x >= 10 ? `${x.toFixed(1)} ms` : `${x.toFixed(2)} ms`);
const x = (v: number) => (v >= 10 ? `${v.toFixed(0)}×` : v >= 1 ? `${v.toFixed(2)}×` : `${v.toFixed(3)}×`);
const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

/** Postgres as a production server runs it: fsync and full-page writes on (the test harness turns them off). */
const PG_SETTINGS = { fsync: 'on', full_page_writes: 'on', synchronous_commit: 'on' };
const PG_SETTINGS_NOTE = 'PostgreSQL 15 with fsync, full_page_writes and synchronous_commit on';

// ---------------------------------------------------------------------------------------------
// CPU of every process involved

interface Services {
  groups: ProcGroup[];
}

function serviceGroups(pg: PostgresInstance | undefined, redis: RedisInstance | undefined, target?: HttpTarget) {
  const groups: ProcGroup[] = [];
  if (pg) groups.push({ name: 'postgres', match: ['postgres', String(pg.port)] });
  if (redis) groups.push({ name: 'redis', match: ['redis-server', `:${redis.port}`] });
  if (target) groups.push({ name: 'target', match: ['cra-bench-http-target'] });
  return { groups };
}

interface CpuWindow {
  /** The server process (all threads). */
  serverMs: number;
  loopDelayMaxMs: number;
  services: Record<string, number>;
  /** This process: the load generator. */
  loadgenMs: number;
}

const emptyCpu = (): CpuWindow => ({ serverMs: 0, loopDelayMaxMs: 0, services: {}, loadgenMs: 0 });

function addCpu(into: CpuWindow, w: CpuWindow): void {
  into.serverMs += w.serverMs;
  into.loopDelayMaxMs = Math.max(into.loopDelayMaxMs, w.loopDelayMaxMs);
  into.loadgenMs += w.loadgenMs;
  for (const [k, v] of Object.entries(w.services)) into.services[k] = (into.services[k] ?? 0) + v;
}

async function withCpu<T>(server: ServerProcess, services: Services, fn: () => Promise<T>) {
  const before: ServerCpu = await server.cpu();
  const svc0 = groupCpuMs(services.groups);
  const gen0 = process.cpuUsage();
  const result = await fn();
  const gen = process.cpuUsage(gen0);
  const svc1 = groupCpuMs(services.groups);
  const after = await server.cpu();
  const cpu: CpuWindow = {
    serverMs: after.ms - before.ms,
    loopDelayMaxMs: after.loopDelay.maxMs,
    services: Object.fromEntries(Object.keys(svc1).map((k) => [k, svc1[k]! - (svc0[k] ?? 0)])),
    loadgenMs: (gen.user + gen.system) / 1000,
  };
  return { result, cpu };
}

const SERVICE_LABEL: Record<string, string> = { postgres: 'Postgres', redis: 'Redis', target: 'HTTP target' };

function cpuNote(cpu: CpuWindow, answered: number, withServices: boolean): string | undefined {
  if (answered === 0) return undefined;
  const per = (v: number) => (v / answered).toFixed(2);
  const parts = [`server CPU ${per(cpu.serverMs)} ms/req`];
  if (withServices) {
    for (const [k, v] of Object.entries(cpu.services)) if (v > 0) parts.push(`${SERVICE_LABEL[k] ?? k} ${per(v)}`);
  }
  parts.push(`event-loop delay max ${fmtMs(cpu.loopDelayMaxMs)}`);
  return parts.join(', ');
}

// ---------------------------------------------------------------------------------------------
// production-http

interface Servers {
  bare: ServerProcess;
  embedded: ServerProcess;
  prod: ServerProcess;
  /** `prod` and a second production replica, as one service: only while the replica phase runs. */
  prodx2?: ServerProcess;
  /** Starts another production runtime on `prod`'s database and Redis. */
  startReplica(): Promise<ServerProcess>;
  /** The production runtime of another checkout (CRA_BENCH_BEFORE), for before/after rows. */
  before?: ServerProcess;
  pg: PostgresInstance;
  redis: RedisInstance;
  target: HttpTarget;
  services: Services;
}

/**
 * The reference atlases with github-ops' write limit (30 calls a minute per agent) raised to 10⁹:
 * every execute still takes a token from that Redis bucket, and none is refused.
 */
async function atlasesWithoutWriteLimit(ctx: BenchContext): Promise<string> {
  const dir = join(ctx.tmpDir, 'atlases');
  await cp(repo('atlases'), dir, { recursive: true });
  const file = join(dir, 'github-ops', 'atlas.yaml');
  const text = await readFile(file, 'utf8');
  const limited = /(effect: rate_limit\n(?:.*\n){1,3}?\s+params:\n\s+requests: )30\n/;
  if (!limited.test(text)) throw new Error('github-ops: the write rate limit (requests: 30) was not found');
  await writeFile(
    file,
    text.replace(limited, (_, head: string) => `${head}1000000000\n`),
  );
  return dir;
}

async function startAll(ctx: BenchContext): Promise<Servers> {
  ctx.log(`starting Redis, ${PG_SETTINGS_NOTE}, and the executor's HTTP target…`);
  const [pg, redis, target] = await Promise.all([
    startPostgres({ settings: PG_SETTINGS }),
    startRedis(),
    startHttpTarget(),
  ]);
  const started: { stop(): Promise<void> }[] = [pg, redis, target];
  try {
    const postgresUrl = await pg.createDatabase('cra_bench');
    const env = { GITHUB_API_URL: target.url };
    const overrides = { atlases: [await atlasesWithoutWriteLimit(ctx)] };
    const embeddedDir = await freshDataDir(join(ctx.tmpDir, 'embedded-data'), ctx.log);
    ctx.log('starting the production runtime (postgres + redis), the embedded one (PGlite)…');
    const beforeRoot = process.env.CRA_BENCH_BEFORE;
    const [prod, embedded, before] = await Promise.all([
      startServer({
        kind: 'cra-prod',
        postgresUrl,
        redisUrl: redis.url,
        dataDir: join(ctx.tmpDir, 'prod-data'),
        env,
        overrides,
      }),
      startServer({ kind: 'cra', dataDir: embeddedDir, env, overrides }),
      // Its own database and Redis key prefix: nothing shared with the runtime measured after it.
      beforeRoot
        ? pg.createDatabase('cra_bench_before').then((url) =>
            startServer({
              kind: 'cra-prod',
              runtimeRoot: beforeRoot,
              postgresUrl: url,
              redisUrl: redis.url,
              dataDir: join(ctx.tmpDir, 'before-data'),
              env,
              overrides: { ...overrides, 'redis.keyPrefix': 'before:' },
            }),
          )
        : undefined,
    ]);
    started.push(prod, embedded, ...(before ? [before] : []));
    // The bare server answers with the runtime's own answers: the mix's resolutions and one execution result.
    const resolve = resolver(await referenceBundle());
    const payloadsFile = join(ctx.tmpDir, 'prod-bare-payloads.json');
    await writeFile(payloadsFile, JSON.stringify(REQUEST_MIX.map((c) => resolve(resolveRequest(c)).resolution)));
    const [grant] = await executeGrants(prod.origin, 1);
    const executeFile = join(ctx.tmpDir, 'prod-bare-execute.json');
    await writeFile(executeFile, JSON.stringify(await executeOnce(prod.origin, grant!)));
    for (const server of [embedded, ...(before ? [before] : [])]) {
      await executeOnce(server.origin, (await executeGrants(server.origin, 1))[0]!);
    }
    const bare = await startServer({ kind: 'bare', payloadsFile, executePayloadFile: executeFile });
    return {
      bare,
      embedded,
      prod,
      startReplica: () =>
        startServer({
          kind: 'cra-prod',
          postgresUrl,
          redisUrl: redis.url,
          dataDir: join(ctx.tmpDir, 'prod-data-2'),
          env,
          overrides,
        }),
      ...(before ? { before } : {}),
      pg,
      redis,
      target,
      services: serviceGroups(pg, redis, target),
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
    throw err;
  }
}

async function stopAll(s: Servers): Promise<void> {
  await Promise.all([s.bare.stop(), s.embedded.stop(), s.prod.stop(), s.before?.stop()]);
  await Promise.all([s.target.stop(), s.redis.stop(), s.pg.stop()]);
}

function row(name: string, result: LoadResult, extra: Partial<Row> = {}): Row {
  const { firstError: _firstError, meanBytes, ...summary } = result;
  return { name, ...summary, ...extra, note: [`${kb(meanBytes)}/answer`, extra.note].filter(Boolean).join('; ') };
}

/** "÷ embedded" (or "÷ before") ratios for a production row. */
function versus(label: string, prod: Summary, other: Summary): string {
  return `÷ ${label}: ops/s ${x(prod.opsPerSec / other.opsPerSec)}, p50 ${x(prod.p50Ms / other.p50Ms)}, p99 ${x(prod.p99Ms / other.p99Ms)}`;
}

interface Measured {
  result: LoadResult;
  cpu: CpuWindow;
  answered: number;
  dropped?: number;
  cache?: { hits: number; misses: number };
}

type Which = 'bare' | 'embedded' | 'prod' | 'prodx2' | 'before';

/** Two runtime processes measured as one service: CPU summed, the worse event-loop delay. */
function replicas(a: ServerProcess, b: ServerProcess): ServerProcess {
  const unsupported = () => Promise.reject(new Error('profile one replica at a time'));
  return {
    origin: a.origin,
    pid: a.pid,
    async cpu() {
      const [x, y] = await Promise.all([a.cpu(), b.cpu()]);
      return { ms: x.ms + y.ms, loopDelay: x.loopDelay.maxMs >= y.loopDelay.maxMs ? x.loopDelay : y.loopDelay };
    },
    startProfile: unsupported,
    stopProfile: unsupported,
    stop: () => Promise.reject(new Error('stop each replica on its own')),
  };
}

/**
 * Two replicas, as a Deployment scaled to 2 on the same two cores: a second production runtime is
 * started for this phase only (idle, it would still receive every other replica's TRACE
 * fan-out messages), and the load is spread over both per connection, as a Service spreads it.
 */
async function replicaPhase(ctx: BenchContext, s: Servers): Promise<{ closed: Measured; open: Measured }> {
  ctx.log('starting a second production replica…');
  const replica = await s.startReplica();
  try {
    s.prodx2 = replicas(s.prod, replica);
    const origins = [s.prod.origin, replica.origin];
    const target = (tag: string, sessions: number): LoadTarget => ({
      ...resolveTarget(s.prod.origin, { unique: true, tag, sessions }),
      origins,
    });
    const key = 'prodx2 resolve off';
    const closed = await closedLoopPhase(ctx, s, [{ key, server: 'prodx2', target: target('rc', CONCURRENCY) }]);
    const open = await openLoopCase(ctx, s, { key, server: 'prodx2', target: target('ro', OPEN_LOOP_CONNECTIONS) });
    return { closed: closed.get(key)!, open };
  } finally {
    delete s.prodx2;
    await replica.stop();
  }
}

interface Case {
  key: string;
  server: Which;
  target: LoadTarget;
  /** Count cache hits through /v1/stats. */
  cache?: boolean;
}

async function closedLoopPhase(ctx: BenchContext, s: Servers, cases: Case[]): Promise<Map<string, Measured>> {
  const acc = new Map(
    cases.map((c) => [c.key, { parts: [] as RawLoad[], cpu: emptyCpu(), answered: 0, cache: { hits: 0, misses: 0 } }]),
  );
  for (const c of cases) {
    ctx.log(`closed loop warm-up: ${c.key}`);
    await closedLoop(c.target, { concurrency: CONCURRENCY, warmupMs: 0, durationMs: durationFor(ctx, 1, 0.3) });
  }
  const slices = ctx.quick ? 1 : 3;
  for (let slice = 0; slice < slices; slice++) {
    for (const c of cases) {
      ctx.log(`closed loop c=${CONCURRENCY}: ${c.key}, slice ${slice + 1}/${slices}`);
      const server = s[c.server]!;
      const before = c.cache ? await stats(server.origin) : undefined;
      const { result, cpu } = await withCpu(server, s.services, () =>
        closedLoop(c.target, { concurrency: CONCURRENCY, warmupMs: 200, durationMs: durationFor(ctx, 2, 0.6) }),
      );
      const a = acc.get(c.key)!;
      if (before) {
        const after = await stats(server.origin);
        a.cache.hits += after.cache_hits - before.cache_hits;
        a.cache.misses += after.cache_misses - before.cache_misses;
      }
      a.parts.push(result);
      a.answered += result.answered;
      addCpu(a.cpu, cpu);
    }
  }
  return new Map(
    cases.map((c) => {
      const a = acc.get(c.key)!;
      return [c.key, { result: mergeLoads(a.parts), cpu: a.cpu, answered: a.answered, cache: a.cache }];
    }),
  );
}

async function openLoopCase(ctx: BenchContext, s: Servers, c: Case, rate = RATE): Promise<Measured> {
  ctx.log(`open loop ${rate} req/s: ${c.key}`);
  const server = s[c.server]!;
  const before = c.cache ? await stats(server.origin) : undefined;
  const { result, cpu } = await withCpu(server, s.services, () =>
    openLoop(c.target, {
      rate,
      warmupMs: durationFor(ctx, 1, 0.3),
      durationMs: durationFor(ctx, 6, 1.5),
      connections: OPEN_LOOP_CONNECTIONS,
    }),
  );
  const cache = before
    ? await stats(server.origin).then((after) => ({
        hits: after.cache_hits - before.cache_hits,
        misses: after.cache_misses - before.cache_misses,
      }))
    : undefined;
  return { result, cpu, answered: result.answered, dropped: result.dropped, ...(cache ? { cache } : {}) };
}

function targetsFor(
  s: Servers,
  grants: Partial<Record<'embedded' | 'prod' | 'before', CARPResolution[]>>,
  tag: string,
  sessions: number,
) {
  const resolve = (origin: string, unique: boolean, t: string) => resolveTarget(origin, { unique, tag: t, sessions });
  const before = s.before;
  return {
    resolve: [
      { key: 'bare resolve', server: 'bare', target: resolve(s.bare.origin, false, `${tag}b`) },
      { key: 'embedded resolve off', server: 'embedded', target: resolve(s.embedded.origin, true, `${tag}e`) },
      ...(before
        ? [{ key: 'before resolve off', server: 'before', target: resolve(before.origin, true, `${tag}x`) }]
        : []),
      { key: 'prod resolve off', server: 'prod', target: resolve(s.prod.origin, true, `${tag}p`) },
      { key: 'embedded resolve hits', server: 'embedded', target: resolve(s.embedded.origin, false, ''), cache: true },
      ...(before
        ? [{ key: 'before resolve hits', server: 'before', target: resolve(before.origin, false, ''), cache: true }]
        : []),
      { key: 'prod resolve hits', server: 'prod', target: resolve(s.prod.origin, false, ''), cache: true },
    ] as Case[],
    execute: [
      { key: 'bare execute', server: 'bare', target: executeTarget(s.bare.origin, grants.prod!) },
      { key: 'embedded execute', server: 'embedded', target: executeTarget(s.embedded.origin, grants.embedded!) },
      ...(before
        ? [{ key: 'before execute', server: 'before', target: executeTarget(before.origin, grants.before!) }]
        : []),
      { key: 'prod execute', server: 'prod', target: executeTarget(s.prod.origin, grants.prod!) },
    ] as Case[],
  };
}

async function grantsFor(s: Servers, sessions: number) {
  return {
    embedded: await executeGrants(s.embedded.origin, sessions),
    prod: await executeGrants(s.prod.origin, sessions),
    ...(s.before ? { before: await executeGrants(s.before.origin, sessions) } : {}),
  };
}

/** Names the CRA_BENCH_BEFORE checkout in row names: CRA_BENCH_BEFORE_LABEL, else its commit. */
function beforeLabel(): string {
  const root = process.env.CRA_BENCH_BEFORE;
  if (process.env.CRA_BENCH_BEFORE_LABEL) return `before (${process.env.CRA_BENCH_BEFORE_LABEL})`;
  if (!root) return 'before';
  try {
    const sha = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    return `before (${sha})`;
  } catch {
    return 'before';
  }
}

const BEFORE = beforeLabel();

const LABELS: Record<string, string> = {
  'bare resolve': 'bare fastify, resolve JSON',
  'embedded resolve off': 'embedded: resolve, cache off',
  'before resolve off': `production ${BEFORE}: resolve, cache off`,
  'prod resolve off': 'production: resolve, cache off',
  'prodx2 resolve off': 'production, 2 replicas: resolve, cache off',
  'embedded resolve hits': 'embedded: resolve, cache hits',
  'before resolve hits': `production ${BEFORE}: resolve, cache hits`,
  'prod resolve hits': 'production: resolve, cache hits',
  'bare execute': 'bare fastify, execute JSON',
  'embedded execute': 'embedded: execute',
  'before execute': `production ${BEFORE}: execute`,
  'prod execute': 'production: execute',
};

function rowsFor(measured: Map<string, Measured>, suffix: string, open: boolean, rate = RATE): Row[] {
  const rows: Row[] = [];
  const name = (key: string) => `${LABELS[key]} ${suffix}`;
  for (const [key, m] of measured) {
    const isBare = key.startsWith('bare');
    const isProd = key.startsWith('prod') || key.startsWith('before');
    const baseline = isBare ? undefined : name(key.includes('execute') ? 'bare execute' : 'bare resolve');
    const embeddedKey = isProd ? key.replace(/^(prod|before)/, 'embedded') : undefined;
    const embedded = embeddedKey ? measured.get(embeddedKey) : undefined;
    const earlier = key.startsWith('prod') ? measured.get(key.replace('prod', 'before')) : undefined;
    const scheduled = (m.dropped ?? 0) + m.result.n + m.result.errors;
    const saturated = open && ((m.dropped ?? 0) > 0 || m.result.opsPerSec < rate * 0.95);
    const notes = [
      cpuNote(m.cpu, m.answered, isProd),
      earlier ? versus(BEFORE, m.result, earlier.result) : undefined,
      embedded ? versus('embedded', m.result, embedded.result) : undefined,
      m.cache && m.cache.hits + m.cache.misses > 0 ? `${m.cache.hits} cache hits, ${m.cache.misses} misses` : undefined,
      open ? `dropped ${m.dropped ?? 0} of ${scheduled}` : undefined,
      saturated ? `SATURATED (${OPEN_LOOP_CONNECTIONS} outstanding)` : undefined,
    ];
    rows.push(
      row(name(key), m.result, {
        ...(baseline ? { baseline } : {}),
        note: notes.filter(Boolean).join('; '),
      }),
    );
  }
  return rows;
}

function failures(measured: Map<string, Measured>, phase: string): string[] {
  return [...measured]
    .filter(([, m]) => m.result.errors > 0)
    .map(([k, m]) => `${phase} ${k}: ${m.result.errors} failed, first: ${m.result.firstError}`);
}

/** The production rows of the CRA_BENCH_BEFORE runtime next to the current one's, measured in the same run. */
function beforeAfterSection(phases: [string, Map<string, Measured>][]): Section {
  const perReq = (m: Measured, v: number) => (m.answered > 0 ? v / m.answered : Number.NaN);
  const lines = [
    `The same load on the production runtime of ${BEFORE} and on this one, in the same run (same Postgres ` +
      'server, separate databases and Redis key prefixes; alternating slices in the closed loop). CPU per answered ' +
      'request from the runtime process and from /proc for PostgreSQL.',
    '',
    '| Load | ops/s before → after | p50 before → after | p99 before → after | runtime CPU ms/req before → after | Postgres CPU ms/req before → after |',
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const [phase, measured] of phases) {
    for (const [key, label] of [
      ['resolve off', 'resolve, cache off'],
      ['resolve hits', 'resolve, cache hits'],
      ['execute', 'execute'],
    ] as const) {
      const b = measured.get(`before ${key}`);
      const a = measured.get(`prod ${key}`);
      if (!a || !b) continue;
      const pair = (x: number, y: number, f: (v: number) => string) =>
        `${f(x)} → ${f(y)} (${x > 0 ? (y / x).toFixed(2) : '—'}×)`;
      lines.push(
        `| ${phase}: ${label} | ${pair(b.result.opsPerSec, a.result.opsPerSec, (v) => v.toFixed(0))} | ` +
          `${pair(b.result.p50Ms, a.result.p50Ms, fmtMs)} | ${pair(b.result.p99Ms, a.result.p99Ms, fmtMs)} | ` +
          `${pair(perReq(b, b.cpu.serverMs), perReq(a, a.cpu.serverMs), (v) => v.toFixed(2))} | ` +
          `${pair(perReq(b, b.cpu.services.postgres ?? 0), perReq(a, a.cpu.services.postgres ?? 0), (v) => v.toFixed(2))} |`,
      );
    }
  }
  return { title: `Production mode before/after (${BEFORE} → this commit)`, markdown: lines.join('\n') };
}

/** Functions whose inclusive (synchronous) CPU time is reported for production mode. */
const INCLUSIVE: FunctionMatcher[] = [
  { label: 'core `validateCarpRequest`', name: 'validateCarpRequest' },
  { label: 'core `planResolution`', name: 'planResolution' },
  { label: 'core `materializeResolution`', name: 'materializeResolution' },
  { label: 'runtime `Tracer.draft` (redacts each event payload)', name: 'draft', url: '/domain/tracer.' },
  { label: 'core `sealEvents` (TRACE hash chain: canonical JSON + SHA-256)', name: 'sealEvents' },
  { label: 'runtime `SqlTraceStore` append, synchronous parts', name: 'append', url: '/sql/trace-store.' },
  { label: 'runtime `RedisResolutionStore.put` (JSON of the answer)', name: 'put', url: '/redis/resolution-store.' },
  { label: 'runtime `RedisCache.set` (JSON of the answer)', name: 'set', url: '/redis/cache.' },
  { label: 'runtime `RedisTraceFanout.publish` (JSON of the events)', name: 'publish', url: '/redis/trace-fanout.' },
  { label: 'fastify `serialize` (fast-json-stringify, response schema)', name: 'serialize', url: '/fastify/' },
  { label: 'fastify `rawBody` (reads and JSON-parses the request)', name: 'rawBody', url: '/fastify/' },
  { label: 'pg `Client.query` (builds and writes the protocol messages)', name: 'query', url: '/pg/lib/client.' },
  { label: 'pg-protocol `Parser.parse` (reads the replies)', name: 'parse', url: '/pg-protocol/' },
  { label: 'ioredis `sendCommand`', name: 'sendCommand', url: '/ioredis/' },
];

/** Redis commands (INFO commandstats) so far. */
async function redisCommands(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const line of info.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function commandDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0 && k !== 'info') out.set(k, d);
  }
  return out;
}

async function profilePhase(ctx: BenchContext, s: Servers): Promise<{ section: Section; note: string }> {
  const file = join(ctx.outDir, 'production-http.cpuprofile');
  const durationMs = durationFor(ctx, 5, 1.5);
  ctx.log(`profiling the production runtime: open loop ${RATE} req/s, cache off, ${durationMs / 1000} s`);
  const target = resolveTarget(s.prod.origin, { unique: true, tag: 'prof', sessions: OPEN_LOOP_CONNECTIONS });
  const probe = new Redis(s.redis.url, { lazyConnect: true });
  await probe.connect();
  try {
    const cmd0 = await redisCommands(probe);
    await s.prod.startProfile();
    const t0 = performance.now();
    const { result, cpu } = await withCpu(s.prod, s.services, () =>
      openLoop(target, { rate: RATE, warmupMs: 0, durationMs, connections: OPEN_LOOP_CONNECTIONS }),
    );
    const sql = await s.prod.stopProfile(file);
    const elapsedS = (performance.now() - t0) / 1000;
    const commands = commandDelta(cmd0, await redisCommands(probe));
    const summary = await summarizeProfile(file, INCLUSIVE);
    const requests = result.answered;
    return {
      section: {
        title: 'Where the time goes (production mode)',
        markdown: profileMarkdown({ p: summary, sql, cpu, commands, requests, elapsedS, result }),
      },
      note:
        `Production profile (resolve, cache off, ${RATE} req/s): ${(summary.busyMs / Math.max(1, requests)).toFixed(2)} ms ` +
        `of runtime main-thread time per resolve, ${(sql.statements / Math.max(1, requests)).toFixed(1)} Postgres round trips ` +
        `and ${([...commands.values()].reduce((n, v) => n + v, 0) / Math.max(1, requests)).toFixed(1)} Redis commands per resolve; ` +
        `CPU per resolve: runtime ${(cpu.serverMs / Math.max(1, requests)).toFixed(2)} ms, Postgres ` +
        `${((cpu.services.postgres ?? 0) / Math.max(1, requests)).toFixed(2)} ms, Redis ` +
        `${((cpu.services.redis ?? 0) / Math.max(1, requests)).toFixed(2)} ms, load generator ` +
        `${(cpu.loadgenMs / Math.max(1, requests)).toFixed(2)} ms.`,
    };
  } finally {
    probe.disconnect();
  }
}

function profileMarkdown(input: {
  p: ProfileSummary;
  sql: SqlStats;
  cpu: CpuWindow;
  commands: Map<string, number>;
  requests: number;
  elapsedS: number;
  result: LoadResult;
}): string {
  const { p, sql, cpu, commands, requests, elapsedS, result } = input;
  const per = (v: number) => (requests > 0 ? v / requests : 0);
  const us = (v: number) => (per(v) * 1000).toFixed(0);
  const budgetMs = (2 * 1000) / RATE;
  const cpuRows: [string, number][] = [
    ['runtime process (all threads)', cpu.serverMs],
    ['… of which its main thread (profile, busy)', p.busyMs],
    ['PostgreSQL (postmaster + backends)', cpu.services.postgres ?? 0],
    ['redis-server', cpu.services.redis ?? 0],
    ['HTTP target (not used by resolve)', cpu.services.target ?? 0],
    ['load generator (undici, this process)', cpu.loadgenMs],
  ];
  const total = cpuRows.filter(([k]) => !k.startsWith('…')).reduce((n, [, v]) => n + v, 0);
  const commandList = [...commands]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${per(v).toFixed(2)}`)
    .join(', ');
  return [
    `The production runtime (Postgres store, durability sync, Redis limits/resolutions/cache, auth on) under ` +
      `open-loop resolve at ${RATE} req/s with the cache off, for ${elapsedS.toFixed(1)} s with the V8 CPU profiler ` +
      `on (250 µs sampling): ${requests} requests, achieved ${result.opsPerSec.toFixed(0)} req/s, ` +
      `p50 ${fmtMs(result.p50Ms)}, p99 ${fmtMs(result.p99Ms)} (profiler overhead included; the rows above are the measurement).`,
    '',
    `**CPU per request, every process** (the machine has 2 cores: at ${RATE} req/s the whole budget is ` +
      `${budgetMs.toFixed(1)} ms of CPU per request for everything together)`,
    '',
    '| Process | ms CPU / request | share of the 2-core budget |',
    '|---|---:|---:|',
    ...cpuRows.map(([k, v]) => `| ${k} | ${per(v).toFixed(3)} | ${pct(per(v) / budgetMs)} |`),
    `| **total** | **${per(total).toFixed(3)}** | **${pct(per(total) / budgetMs)}** |`,
    '',
    `**Round trips per request**: Postgres ${per(sql.statements).toFixed(2)} queries ` +
      `(${per(sql.transactions).toFixed(2)} BEGIN…COMMIT transactions), ${per(sql.statementMs).toFixed(2)} ms awaiting ` +
      `them and ${per(sql.transactionMs).toFixed(2)} ms inside transactions (wall time, summed over concurrent requests); ` +
      `Redis ${per([...commands.values()].reduce((n, v) => n + v, 0)).toFixed(2)} commands (${commandList}).`,
    '',
    '**Runtime main thread by area** (self time)',
    '',
    '| Area | ms | share of busy | µs/request |',
    '|---|---:|---:|---:|',
    ...p.byArea.slice(0, 14).map((a) => `| ${a.area} | ${a.ms.toFixed(0)} | ${pct(a.share)} | ${us(a.ms)} |`),
    '',
    '**Top functions by self time**',
    '',
    '| Function | Where | Area | share of busy |',
    '|---|---|---|---:|',
    ...p.topSelf
      .slice(0, 15)
      .map((f) => `| \`${f.name}\` | ${f.where ? `\`${f.where}\`` : ''} | ${f.area} | ${pct(f.share)} |`),
    '',
    '**Inclusive time of selected functions** (synchronous stacks only)',
    '',
    '| Function | ms | share of busy | µs/request |',
    '|---|---:|---:|---:|',
    ...p.inclusive.map((f) => `| ${f.name} | ${f.ms.toFixed(0)} | ${pct(f.share)} | ${us(f.ms)} |`),
    '',
    '_Raw profile: bench/out/production-http.cpuprofile (Chrome DevTools → Performance)._',
  ].join('\n');
}

const productionHttp: Benchmark = {
  name: 'production-http',
  title: 'Production mode over HTTP (Postgres + Redis + auth)',
  description:
    'The runtime as deployed, in its own process: `store.kind: postgres` (durability `sync`: the TRACE events of ' +
    `a request are committed before its reply; ${PG_SETTINGS_NOTE}), \`redis.url\` set (per-agent API limit ` +
    'raised so it never refuses but checked on every request — one GCRA round trip —, resolutions, idempotency ' +
    'and the resolution cache in Redis), auth required (API key). Resolve: the request mix, "cache off" = unique ' +
    'goals (every request planned), "cache hits" = the mix repeated. Execute: `api.github.create_issue` (low ' +
    'risk, no approval) whose http executor POSTs to a local node:http server answering 201 JSON. Closed loop at ' +
    `concurrency ${CONCURRENCY} (targets in alternating slices), then open loop at ${RATE} req/s (latency from the ` +
    'scheduled send time; achieved rate = ops/s; requests not sent because 64 were outstanding are "dropped"). ' +
    'Baselines, same client, payloads, concurrency and rate: a bare fastify server answering the same resolution / ' +
    'execution JSON; "÷ embedded" compares with the embedded-mode runtime (PGlite, same auth and durability) ' +
    'measured in the same run. "2 replicas": two production runtime processes on the same database and Redis, the ' +
    "client's connections spread over both (what two pods behind a Service get), on the same two cores. Server CPU " +
    'is the runtime process (both, for 2 replicas); Postgres and Redis CPU per request come from /proc.',
  async run(ctx) {
    const s = await startAll(ctx);
    const rows: Row[] = [];
    const notes: string[] = [];
    const sections: Section[] = [];
    try {
      const closedCases = targetsFor(s, await grantsFor(s, CONCURRENCY), 'c', CONCURRENCY);
      const closed = await closedLoopPhase(ctx, s, [...closedCases.resolve, ...closedCases.execute]);
      rows.push(...rowsFor(closed, `(c=${CONCURRENCY})`, false));
      notes.push(...failures(closed, 'closed loop'));

      const openCases = targetsFor(s, await grantsFor(s, OPEN_LOOP_CONNECTIONS), 'o', OPEN_LOOP_CONNECTIONS);
      const open = new Map<string, Measured>();
      for (const c of [...openCases.resolve, ...openCases.execute]) open.set(c.key, await openLoopCase(ctx, s, c));
      rows.push(...rowsFor(open, `@ ${RATE} req/s (open loop)`, true));
      notes.push(...failures(open, `open loop ${RATE}/s`));

      const pair = await replicaPhase(ctx, s);
      const pairs = (m: Measured) => new Map([['prodx2 resolve off', m]]);
      rows.push(...rowsFor(pairs(pair.closed), `(c=${CONCURRENCY})`, false));
      rows.push(...rowsFor(pairs(pair.open), `@ ${RATE} req/s (open loop)`, true));
      notes.push(
        ...failures(pairs(pair.closed), 'closed loop, 2 replicas'),
        ...failures(pairs(pair.open), 'open loop, 2 replicas'),
      );

      // Lower rates (full runs): the highest one at which production mode keeps resolve p99 under the target.
      const sweep: { rate: number; m: Measured }[] = [];
      for (const rate of ctx.quick ? [] : SWEEP_RATES) {
        const cases = targetsFor(s, {}, `s${rate}`, OPEN_LOOP_CONNECTIONS).resolve.filter(
          (c) => c.key === 'bare resolve' || c.key === 'prod resolve off',
        );
        const measured = new Map<string, Measured>();
        for (const c of cases) measured.set(c.key, await openLoopCase(ctx, s, c, rate));
        rows.push(...rowsFor(measured, `@ ${rate} req/s (open loop)`, true, rate));
        notes.push(...failures(measured, `open loop ${rate}/s`));
        sweep.push({ rate, m: measured.get('prod resolve off')! });
      }

      const off = open.get('prod resolve off')!;
      const hits = open.get('prod resolve hits')!;
      const met = (m: Measured, rate = RATE) =>
        m.result.p99Ms < TARGET_P99_MS && m.result.opsPerSec >= rate * 0.95 && !m.dropped && m.result.errors === 0;
      notes.unshift(
        `**Target (resolve p99 < ${TARGET_P99_MS} ms at ${RATE} req/s, production mode, everything on): ` +
          `${met(off) ? 'MET' : 'NOT MET'}** — cache off: p99 ${fmtMs(off.result.p99Ms)}, p50 ${fmtMs(off.result.p50Ms)} at ` +
          `${off.result.opsPerSec.toFixed(0)} req/s achieved (${off.dropped ?? 0} dropped, ${off.result.errors} failed); ` +
          `cache hits: p99 ${fmtMs(hits.result.p99Ms)} (${met(hits) ? 'met' : 'not met'}). Closed-loop capacity ` +
          `(c=${CONCURRENCY}): ${closed.get('prod resolve off')!.result.opsPerSec.toFixed(0)} resolves/s cache off, ` +
          `${closed.get('prod execute')!.result.opsPerSec.toFixed(0)} executes/s.`,
      );
      notes.push(
        `Two production replicas on the same machine (one database, one Redis; connections spread over both, as ` +
          `a Service spreads them over pods), resolve cache off at ${RATE} req/s: p99 ${fmtMs(pair.open.result.p99Ms)}, ` +
          `p50 ${fmtMs(pair.open.result.p50Ms)} at ${pair.open.result.opsPerSec.toFixed(0)} req/s achieved ` +
          `(${met(pair.open) ? 'target met' : 'target not met'}); closed loop (c=${CONCURRENCY}) ` +
          `${pair.closed.result.opsPerSec.toFixed(0)} resolves/s against ` +
          `${closed.get('prod resolve off')!.result.opsPerSec.toFixed(0)} for one.`,
      );
      // What this machine gives with no CRA at all: the same client, rate and answers from a bare server.
      const floor = open.get('bare resolve')!;
      notes.splice(
        1,
        0,
        `This machine's floor at ${RATE} req/s: the bare fastify server answering the same JSON, same client and ` +
          `schedule, measures p99 ${fmtMs(floor.result.p99Ms)} (p50 ${fmtMs(floor.result.p50Ms)})` +
          (floor.result.p99Ms >= TARGET_P99_MS
            ? ` — at or above the ${TARGET_P99_MS} ms target before any CRA work is done, so no runtime can meet it ` +
              `here; production resolve p99 is ${x(off.result.p99Ms / floor.result.p99Ms)} that floor.`
            : `; production resolve p99 is ${x(off.result.p99Ms / floor.result.p99Ms)} that floor.`),
      );
      if (sweep.length > 0) {
        const ok = sweep.filter(({ rate, m }) => met(m, rate));
        notes.push(
          `Production resolve (cache off) p99 by offered rate: ${sweep
            .map(({ rate, m }) => `${rate}/s → ${fmtMs(m.result.p99Ms)}${m.dropped ? ` (${m.dropped} dropped)` : ''}`)
            .join(', ')}, ${RATE}/s → ${fmtMs(off.result.p99Ms)}; ` +
            (ok.length > 0
              ? `the p99 < ${TARGET_P99_MS} ms target holds up to ${ok.at(-1)!.rate} req/s of those rates on this machine.`
              : `p99 < ${TARGET_P99_MS} ms at none of them on this machine.`),
        );
      }
      const earlier = open.get('before resolve off');
      if (earlier) {
        notes.push(
          `Before/after (same run): production ${BEFORE} at ${RATE} req/s, cache off: p99 ${fmtMs(earlier.result.p99Ms)}, ` +
            `p50 ${fmtMs(earlier.result.p50Ms)}, ${earlier.result.opsPerSec.toFixed(0)} req/s achieved, ` +
            `${(earlier.cpu.serverMs / Math.max(1, earlier.answered)).toFixed(2)} ms runtime CPU per request; now p99 ` +
            `${fmtMs(off.result.p99Ms)}, p50 ${fmtMs(off.result.p50Ms)}, ${off.result.opsPerSec.toFixed(0)} req/s, ` +
            `${(off.cpu.serverMs / Math.max(1, off.answered)).toFixed(2)} ms. Closed loop (c=${CONCURRENCY}) cache off: ` +
            `${closed.get('before resolve off')!.result.opsPerSec.toFixed(0)} → ${closed.get('prod resolve off')!.result.opsPerSec.toFixed(0)} resolves/s; ` +
            `execute ${closed.get('before execute')!.result.opsPerSec.toFixed(0)} → ${closed.get('prod execute')!.result.opsPerSec.toFixed(0)}/s.`,
        );
      }
      if (earlier) {
        sections.push(
          beforeAfterSection([
            [`closed loop c=${CONCURRENCY}`, closed],
            [`open loop ${RATE} req/s`, open],
          ]),
        );
      }
      try {
        const profiled = await profilePhase(ctx, s);
        sections.push(profiled.section);
        notes.push(profiled.note);
      } catch (err) {
        notes.push(`The profiled phase failed: ${(err as Error).message}`);
      }
    } finally {
      await stopAll(s);
    }
    return { rows, notes, sections };
  },
};

// ---------------------------------------------------------------------------------------------
// production-limiter

interface BenchmarkCsv {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

/** `redis-benchmark --csv` of one command: requests/s and latency percentiles. */
async function redisBenchmark(
  port: number,
  options: { clients: number; pipeline: number; requests: number },
  command: string[],
): Promise<BenchmarkCsv> {
  const { stdout } = await run(
    'redis-benchmark',
    [
      ...['-h', '127.0.0.1', '-p', String(port)],
      ...['-c', String(options.clients), '-P', String(options.pipeline), '-n', String(options.requests)],
      '--csv',
      ...command,
    ],
    { maxBuffer: 1 << 20 },
  );
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const line = stdout
    .trim()
    .split('\n')
    .find((l) => !l.startsWith('"test"'));
  const cols = (line ?? '').split(',').map((c) => Number(c.replace(/"/g, '')));
  if (!line || !Number.isFinite(cols[1])) throw new Error(`unexpected redis-benchmark output: ${stdout.slice(0, 300)}`);
  return { rps: cols[1]!, p50Ms: cols[4]!, p99Ms: cols[6]! };
}

/** `concurrency` async workers calling `op` back to back for `durationMs`; latency per call. */
async function concurrentLoop(
  op: (worker: number, i: number) => Promise<unknown>,
  concurrency: number,
  durationMs: number,
): Promise<{ samples: Samples; elapsedMs: number; errors: number; firstError?: string }> {
  const samples = new Samples();
  const start = performance.now();
  const end = start + durationMs;
  let i = 0;
  let errors = 0;
  let firstError: string | undefined;
  let last = start;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      for (;;) {
        const t0 = performance.now();
        if (t0 >= end) return;
        try {
          await op(w, i++);
          const t1 = performance.now();
          samples.add(t1 - t0);
          last = Math.max(last, t1);
        } catch (err) {
          errors += 1;
          firstError ??= (err as Error).message;
        }
      }
    }),
  );
  return { samples, elapsedMs: last - start, errors, ...(firstError ? { firstError } : {}) };
}

function merged(parts: { samples: Samples; elapsedMs: number }[]): Summary {
  const all = new Samples();
  let elapsed = 0;
  for (const p of parts) {
    for (const v of p.samples.sorted()) all.add(v);
    elapsed += p.elapsedMs;
  }
  return summarize(all, elapsed);
}

const productionLimiter: Benchmark = {
  name: 'production-limiter',
  title: 'Redis rate limiter: RedisRateLimiter.take vs redis-benchmark EVALSHA',
  description:
    '`RedisRateLimiter.take` (runtime/src/store/redis/rate-limiter.ts: one `EVALSHA` of the GCRA script through ' +
    "ioredis on the runtime's one connection, reply mapped to a decision) on one hot key, from Node with N calls " +
    'in flight. Baseline: `redis-benchmark -c 1 -P N EVALSHA <sha> 1 <key> …` — the same script (`SCRIPT LOAD` ' +
    'first), the same arguments, one connection with N commands in flight — measured in alternating slices on the ' +
    'same private redis-server. redis-benchmark is C with no per-call allocation: the ratio is what Node, ioredis ' +
    'and the limiter add per check. `-c 16 -P 1` (16 connections) is shown for reference.',
  async run(ctx) {
    const redis = await startRedis();
    const connection = createRedis(redis.url);
    const rows: Row[] = [];
    const notes: string[] = [];
    try {
      await connection.connect();
      const limiter = new RedisRateLimiter(connection, { instanceId: 'bench', replicas: 1 });
      const sha = (await connection.client.script('LOAD', GCRA_LUA)) as string;
      const expected = createHash('sha1').update(GCRA_LUA).digest('hex');
      if (sha !== expected) throw new Error(`SCRIPT LOAD returned ${sha}, expected ${expected}`);
      const limit = { requests: 1_000_000_000, windowSeconds: 60 };
      const args = ['EVALSHA', sha, '1', 'cra:ratelimit:bench-rb', String(limit.requests), '60000', '1', '1'];
      const sliceMs = durationFor(ctx, 1.5, 0.4);
      const slices = ctx.quick ? 1 : 3;
      for (const inFlight of ctx.quick ? [1, 16] : [1, 16, 64]) {
        ctx.log(`limiter: ${inFlight} in flight`);
        const take = () => limiter.take('agent:bench', limit);
        await concurrentLoop(take, inFlight, 300);
        const nodeParts: { samples: Samples; elapsedMs: number }[] = [];
        const rb: BenchmarkCsv[] = [];
        let nodeErrors = 0;
        for (let slice = 0; slice < slices; slice++) {
          const part = await concurrentLoop(take, inFlight, sliceMs);
          nodeParts.push(part);
          nodeErrors += part.errors;
          const rate = (part.samples.count * 1000) / Math.max(1, part.elapsedMs);
          const requests = Math.max(2_000, Math.round((rate * 1.5 * sliceMs) / 1000));
          rb.push(await redisBenchmark(redis.port, { clients: 1, pipeline: inFlight, requests }, args));
        }
        const node = merged(nodeParts);
        const mean = (f: (b: BenchmarkCsv) => number) => rb.reduce((n, b) => n + f(b), 0) / rb.length;
        const baseName = `redis-benchmark EVALSHA -c 1 -P ${inFlight}`;
        rows.push({
          name: baseName,
          n: 0,
          opsPerSec: mean((b) => b.rps),
          p50Ms: mean((b) => b.p50Ms),
          p99Ms: mean((b) => b.p99Ms),
          maxMs: Number.NaN,
          note: `mean of ${rb.length} runs; latency per pipelined batch as redis-benchmark reports it`,
        });
        rows.push({
          name: `RedisRateLimiter.take, ${inFlight} in flight`,
          baseline: baseName,
          ...node,
          ...(nodeErrors ? { errors: nodeErrors } : {}),
          note: "one ioredis connection (the runtime's), one hot key",
        });
      }
      const ref = await redisBenchmark(redis.port, { clients: 16, pipeline: 1, requests: 100_000 }, args);
      rows.push({
        name: 'redis-benchmark EVALSHA -c 16 -P 1 (reference)',
        n: 0,
        opsPerSec: ref.rps,
        p50Ms: ref.p50Ms,
        p99Ms: ref.p99Ms,
        maxMs: Number.NaN,
        note: '16 connections, one command in flight each',
      });
      const one = rows.find((r) => r.name === 'RedisRateLimiter.take, 1 in flight')!;
      notes.push(
        `Redis limiter: ${Math.round(one.opsPerSec).toLocaleString('en-US')} checks/s one at a time (p50 ` +
          `${fmtMs(one.p50Ms)} per check: one loopback round trip); at ${RATE} req/s a check per request costs ` +
          `${((RATE / one.opsPerSec) * 100).toFixed(1)} % of that sequential capacity.`,
      );
      await limiter.close();
    } finally {
      await connection.close();
      await redis.stop();
    }
    return { rows, notes };
  },
};

// ---------------------------------------------------------------------------------------------
// production-trace-store

const TRACE_COLUMNS = 'session_id, sequence, event_id, event_type, severity, ts, trace_id, event_hash, event';
const TRACE_SESSIONS = 8;

interface TraceRow {
  sequence: number;
  event_type: string;
  severity: string;
  ts: string;
  trace_id: string;
  event_hash: string;
  event: string;
}

function rowsOf(events: readonly TraceEvent[]): TraceRow[] {
  return events.map((e) => ({
    sequence: e.sequence,
    event_type: e.event_type,
    severity: e.severity,
    ts: e.timestamp,
    trace_id: e.trace_id,
    event_hash: e.event_hash,
    event: JSON.stringify(e),
  }));
}

/** One multi-row INSERT … VALUES with 9 parameters per row, as a fresh session's events. */
function plainInsert(client: SqlClient, batch: readonly TraceRow[]): Promise<unknown> {
  const session = randomIds.uuid();
  const params: unknown[] = [];
  const tuples = batch.map((r) => {
    const base = params.length;
    params.push(
      session,
      r.sequence,
      randomIds.uuid(),
      r.event_type,
      r.severity,
      r.ts,
      r.trace_id,
      r.event_hash,
      r.event,
    );
    return `(${Array.from({ length: 9 }, (_, i) => `$${base + i + 1}`).join(', ')})`;
  });
  return client.query(`INSERT INTO cra_trace_events (${TRACE_COLUMNS}) VALUES ${tuples.join(', ')}`, params);
}

/** INSERT … SELECT FROM unnest (the store's statement) alone: no transaction, no lock, no head update. */
function unnestInsert(client: SqlClient, batch: readonly TraceRow[]): Promise<unknown> {
  return client.query(
    `INSERT INTO cra_trace_events (${TRACE_COLUMNS})
     SELECT $1::uuid, *
       FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[], $9::text[])`,
    [
      randomIds.uuid(),
      batch.map((r) => r.sequence),
      batch.map(() => randomIds.uuid()),
      batch.map((r) => r.event_type),
      batch.map((r) => r.severity),
      batch.map((r) => r.ts),
      batch.map((r) => r.trace_id),
      batch.map((r) => r.event_hash),
      batch.map((r) => r.event),
    ],
  );
}

/** COPY text format: tab-separated, `\` escaped. */
function copyField(value: string | number): string {
  return String(value).replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

const productionTraceStore: Benchmark = {
  name: 'production-trace-store',
  title: 'TRACE appends into Postgres: SqlTraceStore.append vs plain INSERT / unnest / COPY',
  description:
    "`SqlTraceStore.append` (runtime/src/store/sql/trace-store.ts, over the runtime's `pg` pool of 10) of " +
    "realistic drafts — the events of one resolve of the request mix each (redacted by the runtime's Tracer), " +
    `${TRACE_SESSIONS} sessions appended to concurrently (one appender each), every append sealed onto its session's ` +
    'hash chain and committed. Baselines, same rows, same concurrency, same table and indexes: one multi-row ' +
    "`INSERT … VALUES` per batch (9 parameters per row, autocommit); `INSERT … SELECT FROM unnest` (the store's " +
    'insert statement alone: no transaction, lock or head update); and `psql \\copy` of all the rows the subject ' +
    `appended from a file (one process, one transaction, timed around the command, connection included). ${PG_SETTINGS_NOTE}. ` +
    'Also the same store on connections with `synchronous_commit=off` (weaker durability, for comparison only) and, ' +
    "when CRA_BENCH_BEFORE names a built checkout, that checkout's SqlTraceStore on the same pool. " +
    'Rows run in alternating slices; ops/s counts events.',
  async run(ctx) {
    const pg = await startPostgres({ settings: PG_SETTINGS });
    const rows: Row[] = [];
    const notes: string[] = [];
    const clients: SqlClient[] = [];
    try {
      const url = await pg.createDatabase('cra_bench_trace');
      const client = openPostgres({ url, poolSize: 10 });
      clients.push(client);
      const stores = await createSqlStores(client);
      // The same store on connections with synchronous_commit off (the URL's libpq `options`): a
      // commit returns before its WAL reaches the disk — an acknowledged event can be lost in a crash.
      const asyncClient = openPostgres({ url: `${url}?options=-c%20synchronous_commit%3Doff`, poolSize: 10 });
      clients.push(asyncClient);
      const asyncStores = await createSqlStores(asyncClient, { migrate: false });
      const bundle = await referenceBundle();
      const resolve = resolver(bundle);
      const answers = REQUEST_MIX.map((c) => resolve(resolveRequest(c)));
      const tracer = new Tracer({
        store: stores.traces,
        ids: randomIds,
        clock: { now: () => Date.now() },
        source: { component: 'cra-bench', version: '0', instance_id: 'bench' },
        redact: payloadRedactor('0123456789abcdef0123456789abcdef'),
      });
      const meanEvents = answers.reduce((n, a) => n + a.steps.length, 0) / answers.length;
      const span = { trace_id: randomIds.traceId(), span_id: randomIds.spanId() };
      /** TRACE_SESSIONS new sessions, and drafts per (session, mix case), built once. */
      const sessionSet = async () => {
        const ids: string[] = [];
        for (let i = 0; i < TRACE_SESSIONS; i++) {
          const id = randomIds.uuid();
          await stores.sessions.create({
            session_id: id,
            agent_id: AGENT_ID,
            status: 'active',
            metadata: {},
            started_at: new Date().toISOString(),
            event_count: 0,
          });
          ids.push(id);
        }
        const templates = ids.map((id) =>
          answers.map((a) => [...a.steps].map((step) => tracer.draft(id, span, step, a.redactions))),
        );
        // Each append gets fresh event ids.
        const drafts = (worker: number, i: number): EventDraft[] =>
          templates[worker]![i % answers.length]!.map((d) => ({ ...d, event_id: randomIds.uuid() }));
        return { ids, drafts };
      };
      // Sealed rows for the baselines: the same events as the store writes them.
      const first = await sessionSet();
      const sealed: TraceRow[][] = [];
      for (let k = 0; k < answers.length; k++) {
        sealed.push(rowsOf(await stores.traces.append(first.ids[0]!, first.drafts(0, k))));
      }
      const batchFor = (i: number) => sealed[i % sealed.length]!;

      interface Subject {
        name: string;
        op: (w: number, i: number) => Promise<unknown>;
        events: (i: number) => number;
      }
      const appendTo = async (store: { append(s: string, d: EventDraft[]): Promise<unknown> }) => {
        const set = await sessionSet();
        return (w: number, i: number) => store.append(set.ids[w]!, set.drafts(w, i));
      };
      const perBatch = (i: number) => answers[i % answers.length]!.steps.length;
      const subjects: Subject[] = [
        { name: 'append', op: await appendTo(stores.traces), events: perBatch },
        { name: 'insert', op: (_w, i) => plainInsert(client, batchFor(i)), events: (i) => batchFor(i).length },
        { name: 'unnest', op: (_w, i) => unnestInsert(client, batchFor(i)), events: (i) => batchFor(i).length },
        { name: 'async', op: await appendTo(asyncStores.traces), events: perBatch },
      ];
      // The store of another checkout (CRA_BENCH_BEFORE), on the same pool: before/after in one run.
      const beforeRoot = process.env.CRA_BENCH_BEFORE;
      if (beforeRoot) {
        const { SqlTraceStore: Before } = (await import(
          pathToFileURL(join(beforeRoot, 'runtime/dist/store/sql/trace-store.js')).href
        )) as { SqlTraceStore: new (c: SqlClient) => { append(s: string, d: EventDraft[]): Promise<unknown> } };
        subjects.push({ name: 'before', op: await appendTo(new Before(client)), events: perBatch });
      }
      const acc = new Map(
        subjects.map((x) => [x.name, { parts: [] as { samples: Samples; elapsedMs: number }[], events: 0, errors: 0 }]),
      );
      for (const x of subjects) await concurrentLoop(x.op, TRACE_SESSIONS, durationFor(ctx, 0.5, 0.2));
      const slices = ctx.quick ? 1 : 3;
      for (let slice = 0; slice < slices; slice++) {
        for (const x of subjects) {
          ctx.log(`trace store: ${x.name}, slice ${slice + 1}/${slices}`);
          const a = acc.get(x.name)!;
          const part = await concurrentLoop(
            async (w, i) => {
              await x.op(w, i);
              a.events += x.events(i);
            },
            TRACE_SESSIONS,
            durationFor(ctx, 2, 0.6),
          );
          a.parts.push(part);
          a.errors += part.errors;
          if (part.firstError) notes.push(`trace store ${x.name}: ${part.firstError}`);
        }
      }
      // Latency is per batch (one append); throughput in events.
      const asEvents = (k: string): Summary & { errors?: number } => {
        const a = acc.get(k)!;
        const elapsed = a.parts.reduce((n, p) => n + p.elapsedMs, 0);
        return {
          ...merged(a.parts),
          opsPerSec: (a.events * 1000) / elapsed,
          ...(a.errors ? { errors: a.errors } : {}),
        };
      };

      // psql \copy of as many rows as the store appended in one slice (capped), from a file.
      const copyRows = Math.min(200_000, Math.max(5_000, Math.round(acc.get('append')!.events / slices)));
      const dir = join(ctx.tmpDir, 'copy');
      await mkdir(dir, { recursive: true });
      const file = join(dir, 'events.tsv');
      /** A file of `copyRows` rows in fresh sessions (each pass inserts new keys). */
      const writeCopyFile = async (): Promise<number> => {
        const lines: string[] = [];
        for (let n = 0; lines.length < copyRows; n++) {
          const session = randomIds.uuid();
          for (const r of batchFor(n)) {
            lines.push(
              [session, r.sequence, randomIds.uuid(), r.event_type, r.severity, r.ts, r.trace_id, r.event_hash, r.event]
                .map(copyField)
                .join('\t'),
            );
          }
        }
        await writeFile(file, `${lines.join('\n')}\n`);
        return lines.length;
      };
      const copySamples = new Samples();
      let copyElapsed = 0;
      let copied = 0;
      for (let i = 0; i < (ctx.quick ? 1 : 2); i++) {
        const rows = await writeCopyFile();
        copied += rows;
        ctx.log(`trace store: psql \\copy of ${rows} rows`);
        const t0 = performance.now();
        await run(join(pg.binDir, 'psql'), [
          '-X',
          '-q',
          '-v',
          'ON_ERROR_STOP=1',
          '-d',
          url,
          '-c',
          `\\copy cra_trace_events (${TRACE_COLUMNS}) FROM '${file}'`,
        ]);
        const dt = performance.now() - t0;
        copyElapsed += dt;
        copySamples.add(dt);
      }
      const copyRate = (copied * 1000) / copyElapsed;

      const batchNote = `batches of ${meanEvents.toFixed(1)} events on average; p50/p99 per batch`;
      const INSERT = 'plain multi-row INSERT … VALUES';
      const UNNEST = 'INSERT … SELECT FROM unnest';
      const COPY = 'psql \\copy from a file';
      rows.push({ name: INSERT, ...asEvents('insert'), note: batchNote });
      rows.push({ name: UNNEST, ...asEvents('unnest'), note: batchNote });
      rows.push({
        name: COPY,
        ...summarize(copySamples, copyElapsed),
        opsPerSec: copyRate,
        n: copied,
        note: `${Math.round(copied / copySamples.count)} rows per run, one transaction; p50/p99 per run`,
      });
      const append = asEvents('append');
      const appendNote = `${TRACE_SESSIONS} sessions, one appender each; ${batchNote}`;
      for (const [base, short] of [
        [INSERT, 'INSERT'],
        [UNNEST, 'unnest'],
        [COPY, 'COPY'],
      ] as const) {
        rows.push({ name: `SqlTraceStore.append (vs ${short})`, baseline: base, ...append, note: appendNote });
      }
      if (acc.has('before')) {
        rows.push({
          name: `SqlTraceStore.append ${BEFORE} (vs INSERT)`,
          baseline: INSERT,
          ...asEvents('before'),
          note: `the store of the CRA_BENCH_BEFORE checkout, same pool; ${appendNote}`,
        });
      }
      rows.push({
        name: 'SqlTraceStore.append, synchronous_commit=off (vs INSERT)',
        baseline: INSERT,
        ...asEvents('async'),
        note: `WEAKER DURABILITY: commits return before the WAL is on disk (URL \`?options=-c synchronous_commit=off\`); ${appendNote}`,
      });
      const insert = rows.find((r) => r.name === INSERT)!;
      const earlier = acc.has('before') ? asEvents('before') : undefined;
      notes.push(
        `TRACE store: ${Math.round(append.opsPerSec).toLocaleString('en-US')} events/s through SqlTraceStore.append ` +
          `(${(append.opsPerSec / insert.opsPerSec).toFixed(2)}× a plain multi-row INSERT of the same rows, ` +
          `${(append.opsPerSec / copyRate).toFixed(2)}× psql \\copy); p50 ${fmtMs(append.p50Ms)} per append of ` +
          `${meanEvents.toFixed(1)} events, p99 ${fmtMs(append.p99Ms)}; the plain INSERT's own commit p99 is ` +
          `${fmtMs(insert.p99Ms)} on this machine (fsync: every sync-durability request waits for one)` +
          (earlier
            ? `; ${BEFORE}: ${Math.round(earlier.opsPerSec).toLocaleString('en-US')} events/s, p50 ${fmtMs(earlier.p50Ms)}.`
            : '.'),
      );
    } finally {
      for (const c of clients) await c.close().catch(() => undefined);
      await pg.stop();
    }
    return { rows, notes };
  },
};

export const benchmarks: Benchmark[] = [productionHttp, productionLimiter, productionTraceStore];

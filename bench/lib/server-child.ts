/**
 * A server under test, in its own process so the load generator does not share its event loop
 * (`--cpu-prof` then profiles the server alone). Spawned by `server.ts`; configured by the
 * BENCH_SERVER environment variable (JSON); talks over the IPC channel:
 *   child → {type: 'ready', origin}          parent → {type: 'stop'}  (closes, exits 0)
 *   parent → {type: 'cpu'}                   child → {type: 'cpu', ms, loopDelay}  (CPU time so far;
 *                                            event-loop delay p99/max since the previous 'cpu')
 *   parent → {type: 'profile-start'}         child → {type: 'profiling'}  (CPU profiler on, SQL counters reset)
 *   parent → {type: 'profile-stop', file}    child → {type: 'profile', stats}  (profile written to `file`)
 *
 * `cra`: the runtime gets its stores from here, built as `runtime.ts` builds them for `store.kind:
 * embedded` (openPglite on `<dataDir>/pg`, createSqlStores), wrapped to count SQL statements.
 * `cra-prod`: the runtime builds its own stores (Postgres through `pg`, Redis through ioredis);
 * SQL statements are counted by wrapping `pg.Client.prototype.query` (each call is one round trip).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import pg from 'pg';
import { createRuntime } from '../../runtime/dist/runtime.js';
import { openPglite } from '../../runtime/dist/store/embedded/pglite-client.js';
import type { QueryOptions, SqlClient, SqlQueryable } from '../../runtime/dist/store/sql/client.js';
import { createSqlStores } from '../../runtime/dist/store/sql/stores.js';
import { benchConfig } from './fixtures.js';
import type { ServerSpec, SqlStats } from './server.js';

const spec = JSON.parse(process.env.BENCH_SERVER ?? '{}') as ServerSpec;

const stats: SqlStats = { statements: 0, transactions: 0, statementMs: 0, transactionMs: 0 };

/** Counts statements and the wall time spent awaiting them (including waits for PGlite's lock). */
function counting(client: SqlClient): SqlClient {
  const timed = (q: SqlQueryable): SqlQueryable => ({
    async query<T>(text: string, params?: unknown[], options?: QueryOptions): Promise<T[]> {
      const t0 = performance.now();
      try {
        return await q.query<T>(text, params, options);
      } finally {
        stats.statements += 1;
        stats.statementMs += performance.now() - t0;
      }
    },
    async exec(script: string): Promise<void> {
      const t0 = performance.now();
      try {
        await q.exec(script);
      } finally {
        stats.statements += 1;
        stats.statementMs += performance.now() - t0;
      }
    },
  });
  const root = timed(client);
  return {
    dialect: client.dialect,
    query: root.query,
    exec: root.exec,
    async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      const t0 = performance.now();
      try {
        return await client.transaction((tx) => fn(timed(tx)));
      } finally {
        stats.transactions += 1;
        stats.transactionMs += performance.now() - t0;
      }
    },
    close: () => client.close(),
  };
}

async function startCra(): Promise<{ origin: string; close(): Promise<void> }> {
  const config = await benchConfig({
    'store.kind': 'embedded',
    'store.durability': 'sync',
    'auth.mode': 'required',
    dataDir: spec.dataDir,
    'server.host': '127.0.0.1',
    'server.port': 0,
    // The per-agent API limit (100/min by default) would refuse almost every benchmark request;
    // it is still checked on every request.
    'rateLimit.requests': 1_000_000_000,
    ...spec.overrides,
  });
  const stores = await createSqlStores(counting(await openPglite(join(config.dataDir, 'pg'))));
  const runtime = await createRuntime(config, { stores });
  const origin = await runtime.app.listen({ host: '127.0.0.1', port: 0 });
  return { origin, close: () => runtime.close() };
}

/** Counts every `pg` query (one round trip each), BEGIN…COMMIT spans, and the wall time awaiting them. */
function countPgQueries(): void {
  type Query = (this: pg.Client, ...args: unknown[]) => unknown;
  const proto = pg.Client.prototype as unknown as { query: Query };
  const original = proto.query;
  const began = new WeakMap<object, number>();
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    const t0 = performance.now();
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '');
    const verb = text.trimStart().slice(0, 8).toUpperCase();
    const done = () => {
      const t1 = performance.now();
      stats.statements += 1;
      stats.statementMs += t1 - t0;
      if (verb.startsWith('BEGIN')) began.set(this, t0);
      if (verb.startsWith('COMMIT') || verb.startsWith('ROLLBACK')) {
        const start = began.get(this);
        if (start !== undefined) {
          stats.transactions += 1;
          stats.transactionMs += t1 - start;
          began.delete(this);
        }
      }
    };
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (...cb: unknown[]) => {
        done();
        return (last as (...a: unknown[]) => unknown)(...cb);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(done, done);
    }
    return result;
  };
}

async function startCraProd(): Promise<{ origin: string; close(): Promise<void> }> {
  countPgQueries();
  const config = await benchConfig({
    'store.kind': 'postgres',
    'store.postgresUrl': spec.postgresUrl,
    'store.durability': 'sync',
    'redis.url': spec.redisUrl,
    'auth.mode': 'required',
    dataDir: spec.dataDir,
    'server.host': '127.0.0.1',
    'server.port': 0,
    // Raised so it never refuses; still checked (one Redis GCRA round trip) on every request.
    'rateLimit.requests': 1_000_000_000,
    ...spec.overrides,
  });
  // Another checkout's runtime (built), e.g. the commit before a change, for before/after rows.
  const create: typeof createRuntime = spec.runtimeRoot
    ? (
        (await import(pathToFileURL(join(spec.runtimeRoot, 'runtime/dist/runtime.js')).href)) as {
          createRuntime: typeof createRuntime;
        }
      ).createRuntime
    : createRuntime;
  const runtime = await create(config);
  const origin = await runtime.app.listen({ host: '127.0.0.1', port: 0 });
  return { origin, close: () => runtime.close() };
}

async function startBare(): Promise<{ origin: string; close(): Promise<void> }> {
  const payloads = JSON.parse(await readFile(spec.payloadsFile!, 'utf8')) as unknown[];
  const executed = spec.executePayloadFile
    ? (JSON.parse(await readFile(spec.executePayloadFile, 'utf8')) as unknown)
    : undefined;
  const app = Fastify({ logger: false });
  app.post('/v1/resolve', async (request) => {
    const which = Number(request.headers['x-bench-case'] ?? 0);
    return payloads[which % payloads.length];
  });
  if (executed) app.post('/v1/execute', async () => executed);
  const origin = await app.listen({ host: '127.0.0.1', port: 0 });
  return { origin, close: () => app.close() };
}

const server =
  spec.kind === 'cra' ? await startCra() : spec.kind === 'cra-prod' ? await startCraProd() : await startBare();
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
const send = (message: unknown) => process.send?.(message);

const inspector = new Session();

async function startProfile(): Promise<void> {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.setSamplingInterval', { interval: 250 });
  Object.assign(stats, { statements: 0, transactions: 0, statementMs: 0, transactionMs: 0 });
  await inspector.post('Profiler.start');
}

async function stopProfile(file: string): Promise<void> {
  const { profile } = await inspector.post('Profiler.stop');
  const sql = { ...stats };
  await writeFile(file, JSON.stringify(profile));
  await inspector.post('Profiler.disable');
  inspector.disconnect();
  send({ type: 'profile', stats: sql });
}

const fail = (err: unknown) => {
  process.stderr.write(`server-child: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
};

process.on('message', (message: { type: string; file?: string }) => {
  switch (message.type) {
    case 'stop':
      server.close().then(() => process.exit(0), fail);
      break;
    case 'cpu': {
      const usage = process.cpuUsage();
      // Event-loop delay since the previous 'cpu' message (ns → ms).
      const loopDelay = { p99Ms: loop.percentile(99) / 1e6, maxMs: loop.max / 1e6 };
      loop.reset();
      send({ type: 'cpu', ms: (usage.user + usage.system) / 1000, loopDelay });
      break;
    }
    case 'profile-start':
      startProfile().then(() => send({ type: 'profiling' }), fail);
      break;
    case 'profile-stop':
      stopProfile(message.file!).catch(fail);
      break;
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', origin: server.origin });

/**
 * The store work of one resolve, in process, on the embedded engine: what `POST /v1/resolve` does
 * with PGlite besides planning (session lookup, resolution row, TRACE append), against a
 * `SELECT 1` round trip on the same instance. Once on a data dir (as `cra serve` runs) and once
 * in memory, to tell the SQL engine's cost from the file system's.
 */
import { join } from 'node:path';
import { randomIds, systemClock } from '@cra/core';
import { Tracer } from '../runtime/dist/domain/tracer.js';
import { openPglite } from '../runtime/dist/store/embedded/pglite-client.js';
import type { SqlClient } from '../runtime/dist/store/sql/client.js';
import { createSqlStores } from '../runtime/dist/store/sql/stores.js';
import { AGENT_ID, REQUEST_MIX, referenceBundle, resolver, resolveRequest } from './lib/fixtures.js';
import { durationFor, type Benchmark, type Row } from './lib/harness.js';
import { measureInterleaved } from './lib/measure.js';
import { freshDataDir, templateDump } from './lib/pglite-template.js';
import { payloadRedactor } from './lib/redactor.js';

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} kB`;

export const benchmarks: Benchmark[] = [
  {
    name: 'resolve-store',
    title: 'Store work of one resolve (embedded PGlite, in process)',
    description:
      "What the runtime asks of its store per cache-miss resolve, with the runtime's own store classes and " +
      'Tracer on PGlite: `sessions.get` (session check), `resolutions.put` (the answer as a JSON row), ' +
      '`tracer.emit` (redact, seal the hash chain, append the TRACE events in one transaction), and the three ' +
      'together, for the request mix (one session; one operation at a time). Baseline: a `SELECT 1` round trip ' +
      'on the same instance. "data dir" is PGlite on a temp data dir as `cra serve` runs it; "memory" is the ' +
      'same schema in memory. All rows of one engine run in alternating slices.',
    async run(ctx) {
      const bundle = await referenceBundle();
      const resolve = resolver(bundle);
      const answers = REQUEST_MIX.map((c) => resolve(resolveRequest(c)));
      const meanBytes = answers.reduce((n, a) => n + JSON.stringify(a.resolution).length, 0) / answers.length;
      const meanEvents = answers.reduce((n, a) => n + a.steps.length, 0) / answers.length;
      const engines: [string, () => Promise<SqlClient>][] = [
        ['data dir', async () => openPglite(join(await freshDataDir(join(ctx.tmpDir, 'store-bench'), ctx.log), 'pg'))],
        [
          'memory',
          async () => openPglite(undefined, { loadDataDir: await templateDump(join(ctx.tmpDir, 'dump'), ctx.log) }),
        ],
      ];
      const rows: Row[] = [];
      const notes: string[] = [];
      for (const [engine, open] of engines) {
        ctx.log(`store work on PGlite (${engine})`);
        const client = await open();
        const stores = await createSqlStores(client);
        try {
          const tracer = new Tracer({
            store: stores.traces,
            ids: randomIds,
            clock: systemClock,
            source: { component: 'cra-bench', version: '0', instance_id: 'bench' },
            redact: payloadRedactor('0123456789abcdef0123456789abcdef'),
          });
          const sessionId = randomIds.uuid();
          await stores.sessions.create({
            session_id: sessionId,
            agent_id: AGENT_ID,
            status: 'active',
            metadata: {},
            started_at: new Date().toISOString(),
            event_count: 0,
          });
          const span = () => ({ trace_id: randomIds.traceId(), span_id: randomIds.spanId() });
          const put = (i: number) => {
            const a = answers[i % answers.length]!;
            return stores.resolutions.put({
              resolution: { ...a.resolution, resolution_id: randomIds.uuid() },
              agent_id: AGENT_ID,
              risk_tier: 'low',
            });
          };
          const emit = (i: number) => {
            const a = answers[i % answers.length]!;
            return tracer.emit(sessionId, span(), a.steps, a.redactions);
          };
          const result = await measureInterleaved(
            {
              select1: () => client.query('SELECT 1'),
              get: () => stores.sessions.get(sessionId),
              put,
              emit,
              all: async (i: number) => {
                await stores.sessions.get(sessionId);
                await put(i);
                await emit(i);
              },
            },
            { warmupMs: durationFor(ctx, 1, 0.2), durationMs: durationFor(ctx, 2, 0.3), slices: ctx.quick ? 2 : 8 },
          );
          const base = `SELECT 1 (${engine})`;
          rows.push({ name: base, ...result.select1 });
          rows.push({ name: `sessions.get (${engine})`, baseline: base, ...result.get });
          rows.push({
            name: `resolutions.put (${engine})`,
            baseline: base,
            ...result.put,
            note: `mean body ${kb(meanBytes)}`,
          });
          rows.push({
            name: `tracer.emit (${engine})`,
            baseline: base,
            ...result.emit,
            note: `mean ${meanEvents.toFixed(1)} events per resolve`,
          });
          rows.push({ name: `all three (${engine})`, baseline: base, ...result.all });
          notes.push(
            `Store work of one cache-miss resolve on PGlite (${engine}): p50 ${result.all.p50Ms.toFixed(2)} ms ` +
              `(${(result.all.p50Ms / result.select1.p50Ms).toFixed(0)}× a SELECT 1 round trip); TRACE append ` +
              `${result.emit.p50Ms.toFixed(2)} ms for ${meanEvents.toFixed(1)} events, resolution row ` +
              `${result.put.p50Ms.toFixed(2)} ms for ${kb(meanBytes)}; one at a time, that alone caps a core at ` +
              `~${Math.round(result.all.opsPerSec)} resolves/s.`,
          );
        } finally {
          await stores.close();
        }
      }
      return { rows, notes };
    },
  },
];

/**
 * A granted action called as an MCP tool (SDK `Client` over Streamable HTTP, `tools/call` on
 * `/mcp`, stateless mode) against the same action through `POST /v1/execute`, on one runtime in
 * its own process (`cra serve`, memory store, auth on), both reaching the same target system (a
 * plain `node:http` server in a third process on loopback). Closed loop, alternating slices.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomIds, type CARPResolution } from '@cra/core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Pool } from 'undici';
import { stringify } from 'yaml';
import { durationFor, type BenchContext, type Benchmark, type Row } from './lib/harness.js';
import { AGENT_ID, AGENT_KEY, repo } from './lib/fixtures.js';
import { Samples, summarize } from './lib/stats.js';

const CONCURRENCY = 8;
const SLICES = 6;
/** The granted action: a GET with no rate limit and no approval (cluster-ops get-pod-logs). */
const ACTION_TYPE = 'api.k8s.get_pod_logs';
const TOOL = 'k8s_get_pod_logs';
const PARAMETERS = { namespace: 'shop', pod: 'checkout-7d9f8b6c5-x2k4q', tailLines: 50 };

const TARGET_SCRIPT = `
const http = require('node:http');
const body = JSON.stringify({ kind: 'PodLog', lines: ['GET /checkout 200 12ms', 'GET /cart 200 4ms'] });
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

interface Child {
  process: ChildProcess;
  stop(): Promise<void>;
}

function child(command: string, args: string[], env: NodeJS.ProcessEnv, ready: (line: string) => string | undefined) {
  const proc = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const value = new Promise<string>((resolve, reject) => {
    let buffer = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const found = ready(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
        if (found !== undefined) resolve(found);
      }
    });
    proc.once('exit', (code) => reject(new Error(`${args[0] ?? command} exited (code ${code}) before it was ready`)));
  });
  const handle: Child = {
    process: proc,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  return { handle, value };
}

/** The target system and a runtime (`cra serve`) whose cluster-ops executor points at it. */
async function start(ctx: BenchContext): Promise<{ origin: string; stop(): Promise<void> }> {
  const target = child(process.execPath, ['-e', TARGET_SCRIPT, 'cra-bench-mcp-target'], process.env, (line) => line);
  const targetUrl = `http://127.0.0.1:${await target.value}`;
  const secrets = join(ctx.tmpDir, 'mcp-secrets');
  await cp(repo('examples/local/secrets'), secrets, { recursive: true });
  await mkdir(join(secrets, 'cluster-ops-token'), { recursive: true });
  await writeFile(join(secrets, 'cluster-ops-token', 'token'), 'bench-cluster-token');
  const configFile = join(ctx.tmpDir, 'mcp-cra.yaml');
  await writeFile(
    configFile,
    stringify({
      server: { host: '127.0.0.1', port: 0 },
      atlases: [repo('atlases')],
      identities: [repo('examples/local/identities.yaml')],
      secretsDir: secrets,
      dataDir: join(ctx.tmpDir, 'mcp-data'),
      store: { kind: 'memory' },
      watch: false,
      // One resolution per client for the whole run; the per-agent API limit out of the way.
      resolver: { ttlSeconds: 3600 },
      rateLimit: { requests: 1_000_000_000 },
      trace: { checkpoint: { intervalSeconds: 0 } },
      log: { level: 'info' },
    }),
  );
  ctx.log('starting the target and the runtime (cra serve, memory store, auth required)…');
  const cra = child(
    process.execPath,
    [repo('runtime/bin/cra.js'), 'serve', '--config', configFile],
    { ...process.env, KUBE_API_URL: targetUrl, NODE_ENV: 'production' },
    (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; address?: string };
        return entry.msg === 'cra runtime listening' ? entry.address : undefined;
      } catch {
        return undefined;
      }
    },
  );
  let origin: string;
  try {
    origin = await cra.value;
  } catch (err) {
    await target.handle.stop();
    throw err;
  }
  // Drain the runtime's log lines (request logs) unread so its stdout never blocks.
  cra.handle.process.stdout!.removeAllListeners('data');
  cra.handle.process.stdout!.resume();
  return {
    origin,
    async stop() {
      await Promise.all([cra.handle.stop(), target.handle.stop()]);
    },
  };
}

const RESOLVE_ARGS = {
  goal: 'Read the checkout pod logs',
  context_hints: ['k8s.observe'],
  scope: { max_context_tokens: 0 },
};

interface Worker {
  call(): Promise<boolean>;
  close(): Promise<void>;
}

/** One MCP session per worker (its own SDK client), resolved once; each call is `tools/call`. */
async function mcpWorker(origin: string): Promise<Worker> {
  const client = new Client({ name: 'cra-bench', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${origin}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${AGENT_KEY}` } },
  });
  await client.connect(transport);
  const resolved = await client.callTool({ name: 'cra_resolve', arguments: RESOLVE_ARGS });
  if (resolved.isError) throw new Error(`cra_resolve failed: ${JSON.stringify(resolved.structuredContent)}`);
  return {
    async call() {
      const result = await client.callTool({ name: TOOL, arguments: PARAMETERS });
      return result.isError !== true;
    },
    close: () => client.close(),
  };
}

/** One CARP session per worker, resolved once over HTTP; each call is `POST /v1/execute`. */
async function httpWorker(origin: string, pool: Pool): Promise<Worker> {
  const headers = { authorization: `Bearer ${AGENT_KEY}`, 'content-type': 'application/json' };
  const session = randomIds.uuid();
  const res = await pool.request({
    path: '/v1/resolve',
    method: 'POST',
    headers,
    body: JSON.stringify({
      carp_version: '1.0',
      request_id: randomIds.uuid(),
      timestamp: new Date().toISOString(),
      operation: 'resolve',
      requester: { agent_id: AGENT_ID, session_id: session },
      task: { goal: RESOLVE_ARGS.goal, context_hints: RESOLVE_ARGS.context_hints },
      scope: RESOLVE_ARGS.scope,
    }),
  });
  const resolution = (await res.body.json()) as CARPResolution;
  const grant = resolution.allowed_actions?.find((g) => g.action_type === ACTION_TYPE);
  if (!grant) throw new Error(`no grant of ${ACTION_TYPE}: ${JSON.stringify(resolution).slice(0, 300)}`);
  return {
    async call() {
      const r = await pool.request({
        path: '/v1/execute',
        method: 'POST',
        headers,
        body: JSON.stringify({
          carp_version: '1.0',
          request_id: randomIds.uuid(),
          timestamp: new Date().toISOString(),
          operation: 'execute',
          requester: { agent_id: AGENT_ID, session_id: session },
          action: {
            action_id: grant.action_id,
            action_type: ACTION_TYPE,
            parameters: PARAMETERS,
            resolution_id: resolution.resolution_id,
          },
        }),
      });
      const body = (await r.body.json()) as { status?: string };
      return r.statusCode === 200 && body.status === 'success';
    },
    close: async () => undefined,
  };
}

interface Tally {
  samples: Samples;
  errors: number;
  elapsedMs: number;
}

/** `workers` calling in a closed loop for `durationMs` after `warmupMs`. */
async function closed(workers: readonly Worker[], warmupMs: number, durationMs: number, tally: Tally): Promise<void> {
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;
  let lastDone = measureFrom;
  await Promise.all(
    workers.map(async (worker) => {
      for (;;) {
        const t0 = performance.now();
        if (t0 >= end) return;
        let ok: boolean;
        try {
          ok = await worker.call();
        } catch {
          ok = false;
        }
        const t1 = performance.now();
        if (t0 < measureFrom) continue;
        if (ok) tally.samples.add(t1 - t0);
        else tally.errors += 1;
        lastDone = Math.max(lastDone, t1);
      }
    }),
  );
  tally.elapsedMs += lastDone - measureFrom;
}

const mcpBench: Benchmark = {
  name: 'mcp-tools-call',
  title: 'A granted action as an MCP tool call',
  description:
    `\`tools/call ${TOOL}\` (the cluster-ops grant \`${ACTION_TYPE}\`, an HTTP GET with no rate limit or ` +
    'approval) through the MCP SDK `Client` over Streamable HTTP at `/mcp` (stateless mode: a fresh MCP ' +
    "server per request, the session's current resolution read from the stores), one MCP session per " +
    `client, ${CONCURRENCY} clients in a closed loop. Baseline: the same grant through \`POST /v1/execute\` ` +
    `(undici, keep-alive, ${CONCURRENCY} connections, one CARP session each). One runtime (\`cra serve\`, ` +
    'memory store, auth required, request logging on) in its own process; both reach the same target system, ' +
    'a `node:http` server in a third process on loopback. The two run in alternating slices.',
  async run(ctx) {
    const server = await start(ctx);
    const pool = new Pool(server.origin, { connections: CONCURRENCY, pipelining: 1 });
    const mcpWorkers: Worker[] = [];
    try {
      const httpWorkers = await Promise.all(Array.from({ length: CONCURRENCY }, () => httpWorker(server.origin, pool)));
      for (let i = 0; i < CONCURRENCY; i++) mcpWorkers.push(await mcpWorker(server.origin));
      const http: Tally = { samples: new Samples(), errors: 0, elapsedMs: 0 };
      const mcp: Tally = { samples: new Samples(), errors: 0, elapsedMs: 0 };
      const slice = durationFor(ctx, 20, 3) / SLICES;
      const warmup = durationFor(ctx, 1, 0.3);
      for (let i = 0; i < SLICES; i++) {
        ctx.log(`slice ${i + 1}/${SLICES}`);
        await closed(httpWorkers, i === 0 ? warmup : 0, slice, http);
        await closed(mcpWorkers, i === 0 ? warmup : 0, slice, mcp);
      }
      const base = `POST /v1/execute (c=${CONCURRENCY})`;
      const rows: Row[] = [
        { name: base, ...summarize(http.samples, http.elapsedMs), errors: http.errors },
        {
          name: `MCP tools/call over Streamable HTTP (c=${CONCURRENCY})`,
          baseline: base,
          ...summarize(mcp.samples, mcp.elapsedMs),
          errors: mcp.errors,
          note: 'stateless; SSE response',
        },
      ];
      const [h, m] = rows as [Row, Row];
      return {
        rows,
        notes: [
          `An MCP tool call costs ${(h.opsPerSec / m.opsPerSec).toFixed(2)}× a plain execute of the same grant ` +
            `(p50 ${m.p50Ms.toFixed(2)} ms vs ${h.p50Ms.toFixed(2)} ms): the MCP server and transport built per ` +
            'request, the current-resolution lookup (session check, last resolution on the TRACE chain, the ' +
            'resolution record) and the extra `adapter.call.received` event.',
        ],
      };
    } finally {
      await Promise.all(mcpWorkers.map((w) => w.close().catch(() => undefined)));
      await pool.close();
      await server.stop();
    }
  },
};

export const benchmarks: Benchmark[] = [mcpBench];

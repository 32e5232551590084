/**
 * Prometheus metrics (CRA-SPEC §10), load shedding and the open/protected /metrics route.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { auth, KEYS, resolveRequest, testRuntime } from './helpers/runtime.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => rt.close());

const scrape = async (r: Runtime, headers: Record<string, string> = {}) =>
  (await r.app.inject({ method: 'GET', url: '/metrics', headers })).body;

function value(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.split(' ').at(-1)) : Number.NaN;
}

describe('metrics', () => {
  it('exposes every metric of CRA-SPEC §10 with the right types', async () => {
    const text = await scrape(rt);
    for (const [name, type] of [
      ['cra_resolutions_total', 'counter'],
      ['cra_resolution_duration_seconds', 'histogram'],
      ['cra_actions_total', 'counter'],
      ['cra_action_duration_seconds', 'histogram'],
      ['cra_cache_hits_total', 'counter'],
      ['cra_cache_misses_total', 'counter'],
      ['cra_trace_events_total', 'counter'],
      ['cra_rate_limited_total', 'counter'],
      ['cra_approvals_pending', 'gauge'],
      ['cra_bundle_info', 'gauge'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}`);
    }
    expect(text).toContain('cra_process_resident_memory_bytes');
    expect(value(text, 'cra_bundle_info', `version="${rt.cra.bundles.current.version}"`)).toBe(1);
  });

  it('counts resolutions by decision, cache hits and trace events, with no agent ids in labels', async () => {
    const before = await scrape(rt);
    const body = resolveRequest({ risk: 'low', hints: ['github.issues'] });
    await rt.app.inject({ method: 'POST', url: '/v1/resolve', headers: auth(), payload: body });
    await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: auth(),
      payload: { ...body, request_id: resolveRequest({}).request_id },
    });
    const after = await scrape(rt);
    expect(
      value(after, 'cra_resolutions_total', 'decision="allow"') -
        (value(before, 'cra_resolutions_total', 'decision="allow"') || 0),
    ).toBe(2);
    expect(value(after, 'cra_cache_hits_total') - value(before, 'cra_cache_hits_total')).toBe(1);
    expect(value(after, 'cra_trace_events_total', 'type="carp.resolution.completed"')).toBeGreaterThanOrEqual(2);
    expect(after).not.toContain('dev-agent');
    expect(after).not.toMatch(/session_id|agent_id/);
  });

  it('exposes the operational series: build, limiter mode, stores, outbox, HTTP routes, checkpoints', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cra-metrics-'));
    const signing = await testRuntime({
      'trace.checkpoint.intervalSeconds': 3600,
      'trace.checkpoint.dir': join(dir, 'checkpoints'),
      dataDir: dir,
    });
    try {
      await signing.app.inject({ method: 'POST', url: '/v1/resolve', headers: auth(), payload: resolveRequest({}) });
      await signing.checkpoint();
      const text = await scrape(signing);
      expect(text).toMatch(/^cra_build_info\{version="[^"]+",revision="[^"]*"\} 1$/m);
      expect(value(text, 'cra_rate_limiter_mode', 'mode="local"')).toBe(1);
      expect(text).toMatch(/^cra_store_up\{store="[a-z_]+"\} 1$/m);
      expect(text).not.toMatch(/^cra_store_up\{[^}]*\} 0$/m);
      expect(value(text, 'cra_trace_outbox_pending')).toBe(0);
      expect(
        value(text, 'cra_http_request_duration_seconds_count', 'method="POST",route="/v1/resolve",status="2xx"'),
      ).toBe(1);
      expect(value(text, 'cra_trace_checkpoints_total')).toBe(1);
    } finally {
      await signing.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps /metrics for admins and auditors when it is not open', async () => {
    const closed = await testRuntime({ 'auth.openMetrics': false });
    try {
      expect((await closed.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
      expect((await closed.app.inject({ method: 'GET', url: '/metrics', headers: auth() })).statusCode).toBe(403);
      const ok = await closed.app.inject({ method: 'GET', url: '/metrics', headers: auth(KEYS.admin) });
      expect(ok.statusCode).toBe(200);
      expect(ok.body).toContain('cra_resolutions_total');
    } finally {
      await closed.close();
    }
  });
});

describe('docs/reference/metrics.md', () => {
  it('describes every runtime metric', async () => {
    const doc = readFileSync(new URL('../../docs/reference/metrics.md', import.meta.url), 'utf8');
    const names = (await rt.metrics.registry.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((n) => !/^cra_(process|nodejs)_/.test(n));
    expect(names).toContain('cra_resolutions_total');
    for (const name of names) expect(doc, name).toContain(`| \`${name}\``);
  });
});

describe('load shedding', () => {
  it('answers 503 with Retry-After in the CARP envelope while the event loop lags, probes still answer', async () => {
    const shed = await testRuntime({ 'load.maxEventLoopDelayMs': 50, 'load.retryAfterSeconds': 3 });
    try {
      // Hog the event loop in slices (so the delay monitor still gets samples, each of them
      // late), then let under-pressure take its next sample.
      const end = Date.now() + 1300;
      while (Date.now() < end) {
        const slice = Date.now() + 200;
        while (Date.now() < slice) {
          /* busy */
        }
        await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 20));
      const res = await shed.app.inject({
        method: 'POST',
        url: '/v1/resolve',
        headers: auth(),
        payload: resolveRequest({}),
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('3');
      expect(res.json()).toMatchObject({ error: { code: 'SERVICE_UNAVAILABLE' }, retry: { retriable: true } });
      expect((await shed.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      expect(value(await scrape(shed), 'cra_load_shed_total')).toBeGreaterThanOrEqual(1);
    } finally {
      await shed.close();
    }
  });
});

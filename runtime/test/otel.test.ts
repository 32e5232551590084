/**
 * OpenTelemetry: CARP operations are spans; the TRACE trace_id of an operation is the OTel trace
 * id, the caller's `traceparent` is honoured, and store and executor calls are child spans.
 */
import { randomIds, type CARPResolution, type TraceEvent } from '@cra/core';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { startTracing, type Tracing } from '../src/telemetry/tracing.js';
import { auth, resolveRequest, testRuntime } from './helpers/runtime.js';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let rt: Runtime;

beforeAll(async () => {
  tracing = startTracing({ exporter, env: {} });
  rt = await testRuntime();
});
afterAll(async () => {
  await rt.close();
  await tracing.shutdown();
});

async function chain(session: string): Promise<TraceEvent[]> {
  return (await rt.app.inject({ method: 'GET', url: `/v1/traces/${session}`, headers: auth() })).json<{
    events: TraceEvent[];
  }>().events;
}

describe('OpenTelemetry', () => {
  it('records a cra.resolve span whose ids are the TRACE ids, with store spans as children', async () => {
    exporter.reset();
    const r = (
      await rt.app.inject({ method: 'POST', url: '/v1/resolve', headers: auth(), payload: resolveRequest({}) })
    ).json<CARPResolution>();
    const spans = exporter.getFinishedSpans();
    const resolve = spans.find((s) => s.name === 'cra.resolve');
    expect(resolve).toBeDefined();
    expect(resolve!.spanContext().traceId).toBe(r.telemetry_link.trace_id);
    expect(resolve!.spanContext().spanId).toBe(r.telemetry_link.span_id);
    expect(resolve!.attributes['cra.decision']).toBe(r.decision.type);
    const append = spans.filter((s) => s.name === 'cra.trace.append');
    expect(append.length).toBeGreaterThan(0);
    expect(append.every((s) => s.spanContext().traceId === r.telemetry_link.trace_id)).toBe(true);
    const events = await chain(r.session_id);
    expect(events.at(-1)!.trace_id).toBe(resolve!.spanContext().traceId);
  });

  it("joins the caller's trace from traceparent: same trace id, the caller's span as parent", async () => {
    exporter.reset();
    const traceId = randomIds.traceId();
    const parent = randomIds.spanId();
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: { ...auth(), traceparent: `00-${traceId}-${parent}-01` },
      payload: resolveRequest({}),
    });
    const r = res.json<CARPResolution>();
    const resolve = exporter.getFinishedSpans().find((s) => s.name === 'cra.resolve')!;
    expect(resolve.spanContext().traceId).toBe(traceId);
    expect(resolve.parentSpanContext?.spanId).toBe(parent);
    const last = (await chain(r.session_id)).at(-1)!;
    expect(last).toMatchObject({ trace_id: traceId, span_id: resolve.spanContext().spanId, parent_span_id: parent });
  });

  it('joins the trace named in the body telemetry too', async () => {
    exporter.reset();
    const traceId = randomIds.traceId();
    const body = { ...resolveRequest({}), telemetry: { trace_id: traceId } };
    const r = (
      await rt.app.inject({ method: 'POST', url: '/v1/resolve', headers: auth(), payload: body })
    ).json<CARPResolution>();
    expect(r.telemetry_link.trace_id).toBe(traceId);
    expect(
      exporter
        .getFinishedSpans()
        .find((s) => s.name === 'cra.resolve')!
        .spanContext().traceId,
    ).toBe(traceId);
  });

  it('marks a failed operation span with an error', async () => {
    exporter.reset();
    await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: auth(),
      payload: resolveRequest({ scope: { atlases: ['nope'] } }),
    });
    const span = exporter.getFinishedSpans().find((s) => s.name === 'cra.resolve')!;
    expect(span.status.code).toBe(2);
    expect(span.attributes['error.type']).toBe('ATLAS_NOT_FOUND');
  });
});

/**
 * OpenTelemetry spans for CARP operations and store calls (API only; the SDK is wired by the
 * process). The TRACE `trace_id`/`span_id` of an operation are the OTel span's ids, so TRACE
 * events join the caller's distributed trace (CRA-SPEC §2). Without a registered SDK the spans
 * are no-ops and the ids come from the id source.
 */
import {
  context as otelContext,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { CraError, type IdSource } from '@cra/core';
import { COMPONENT, VERSION } from '../version.js';
import type { SpanContext } from './span.js';

const tracer = trace.getTracer(COMPONENT, VERSION);
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const valid = (hex: string | undefined): hex is string => hex !== undefined && !/^0+$/.test(hex);

function parentContext(
  ids: IdSource,
  telemetry: { trace_id?: string; parent_span_id?: string } | undefined,
  traceparent?: string,
): Context {
  const parsed = traceparent ? TRACEPARENT.exec(traceparent) : null;
  const traceId = valid(telemetry?.trace_id) ? telemetry.trace_id : parsed?.[1];
  if (!valid(traceId)) return otelContext.active();
  const parentSpanId = telemetry?.trace_id
    ? valid(telemetry.parent_span_id)
      ? telemetry.parent_span_id
      : undefined
    : parsed?.[2];
  return trace.setSpanContext(ROOT_CONTEXT, {
    traceId,
    spanId: valid(parentSpanId) ? parentSpanId : ids.spanId(),
    traceFlags: parsed ? Number.parseInt(parsed[3]!, 16) & TraceFlags.SAMPLED : TraceFlags.SAMPLED,
    isRemote: true,
  });
}

/**
 * Runs `fn` inside an OTel span named `name`, handing it the TRACE span context of the same ids.
 * Errors mark the span and propagate.
 */
export async function inOperationSpan<T>(
  name: string,
  ids: IdSource,
  telemetry: { trace_id?: string; parent_span_id?: string } | undefined,
  traceparent: string | undefined,
  attributes: Attributes,
  fn: (span: SpanContext, otel: Span) => Promise<T>,
): Promise<T> {
  const parent = parentContext(ids, telemetry, traceparent);
  return tracer.startActiveSpan(name, { kind: SpanKind.SERVER, attributes }, parent, async (otel) => {
    const sc = otel.spanContext();
    const parentSc = trace.getSpanContext(parent);
    // A no-op tracer (no SDK registered) echoes the parent's context: mint our own ids then.
    const traceSpan: SpanContext =
      trace.isSpanContextValid(sc) && sc.spanId !== parentSc?.spanId
        ? {
            trace_id: sc.traceId,
            span_id: sc.spanId,
            ...(parentSc && valid(parentSc.spanId) && parentSc.isRemote && parentSc.traceId === sc.traceId
              ? { parent_span_id: parentSc.spanId }
              : {}),
          }
        : {
            trace_id: parentSc && valid(parentSc.traceId) ? parentSc.traceId : ids.traceId(),
            span_id: ids.spanId(),
            ...(parentSc && valid(parentSc.spanId) ? { parent_span_id: parentSc.spanId } : {}),
          };
    try {
      return await fn(traceSpan, otel);
    } catch (err) {
      otel.recordException(err as Error);
      otel.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      otel.setAttribute('error.type', (err as { code?: string }).code ?? 'internal');
      if (err instanceof CraError) err.traceId ??= traceSpan.trace_id;
      throw err;
    } finally {
      otel.end();
    }
  });
}

/** A child span around a store or executor call. */
export async function inChildSpan<T>(
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  fn: () => Promise<T>,
): Promise<T> {
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };

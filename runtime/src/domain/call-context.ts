import type { IdSource, Principal } from '@cra/core';
import type { SpanContext } from './tracer.js';

/** Who is calling and which distributed trace the call belongs to. */
export interface CallContext {
  principal: Principal;
  /** W3C `traceparent` of the incoming call, if any. */
  traceparent?: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/**
 * The span of one CARP operation. The caller's trace is joined when the body's `telemetry` or a
 * `traceparent` header names one (CRA-SPEC §2), so TRACE events carry the OpenTelemetry trace id.
 */
export function operationSpan(
  ids: IdSource,
  telemetry: { trace_id?: string; parent_span_id?: string } | undefined,
  traceparent: string | undefined,
): SpanContext {
  const parsed = traceparent ? TRACEPARENT.exec(traceparent) : null;
  const traceId = telemetry?.trace_id ?? parsed?.[1];
  const parent = telemetry?.parent_span_id ?? (telemetry?.trace_id ? undefined : parsed?.[2]);
  return {
    trace_id: traceId && !/^0+$/.test(traceId) ? traceId : ids.traceId(),
    span_id: ids.spanId(),
    ...(parent && !/^0+$/.test(parent) ? { parent_span_id: parent } : {}),
  };
}

/** The TRACE position of one operation: its W3C trace and span, and the caller's span if any. */
export interface SpanContext {
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
}

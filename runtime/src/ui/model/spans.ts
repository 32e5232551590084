/**
 * The span hierarchy of a trace: events grouped by (trace_id, span_id), spans nested under the
 * span their `parent_span_id` names. A parent that no event of the trace records (the caller's
 * span from a W3C `traceparent`) leaves its child at the top, marked as having an outside parent.
 * Pure (no DOM).
 */
import type { Severity, TraceEvent } from '@cra/core/browser';
import { severityRank } from './filter.js';

export interface SpanNode {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  /** The parent span is named but recorded in no event of this trace. */
  externalParent: boolean;
  /** The operation (the first `payload.operation` among its events, e.g. resolve) or the first event's type. */
  name: string;
  events: TraceEvent[];
  children: SpanNode[];
  /** Epoch milliseconds of the first and last event. */
  start: number;
  end: number;
  worstSeverity: Severity;
}

export interface TraceNode {
  traceId: string;
  roots: SpanNode[];
  spanCount: number;
  eventCount: number;
  start: number;
  end: number;
}

const key = (traceId: string, spanId: string): string => `${traceId}/${spanId}`;

function operationOf(event: TraceEvent): string | undefined {
  const operation = event.payload['operation'];
  return typeof operation === 'string' && operation !== '' ? operation : undefined;
}

function newSpan(event: TraceEvent, time: number): SpanNode {
  return {
    traceId: event.trace_id,
    spanId: event.span_id,
    externalParent: false,
    name: operationOf(event) ?? event.event_type,
    events: [],
    children: [],
    start: time,
    end: time,
    worstSeverity: event.severity,
  };
}

function addEvent(span: SpanNode, event: TraceEvent, time: number): void {
  // The span's operation, once an event names it (a session's first span starts with session.started).
  const operation = operationOf(event);
  if (operation !== undefined && span.name === span.events[0]?.event_type) span.name = operation;
  span.events.push(event);
  if (span.parentSpanId === undefined && event.parent_span_id !== undefined && event.parent_span_id !== span.spanId) {
    span.parentSpanId = event.parent_span_id;
  }
  if (Number.isFinite(time)) {
    span.start = Number.isFinite(span.start) ? Math.min(span.start, time) : time;
    span.end = Number.isFinite(span.end) ? Math.max(span.end, time) : time;
  }
  if (severityRank(event.severity) > severityRank(span.worstSeverity)) span.worstSeverity = event.severity;
}

/** True when `candidate` is `span` or one of its ancestors would be `span` (a cycle). */
function wouldCycle(span: SpanNode, candidate: SpanNode, parents: Map<SpanNode, SpanNode>): boolean {
  for (let node: SpanNode | undefined = candidate; node !== undefined; node = parents.get(node)) {
    if (node === span) return true;
  }
  return false;
}

export function buildSpanTree(events: readonly TraceEvent[]): TraceNode[] {
  const spans = new Map<string, SpanNode>();
  const traceOrder: string[] = [];
  for (const event of events) {
    const time = Date.parse(event.timestamp);
    const k = key(event.trace_id, event.span_id);
    let span = spans.get(k);
    if (span === undefined) {
      span = newSpan(event, time);
      spans.set(k, span);
      if (!traceOrder.includes(event.trace_id)) traceOrder.push(event.trace_id);
    }
    addEvent(span, event, time);
  }
  const parents = new Map<SpanNode, SpanNode>();
  const roots = new Map<string, SpanNode[]>(traceOrder.map((t) => [t, []]));
  for (const span of spans.values()) {
    const parent = span.parentSpanId === undefined ? undefined : spans.get(key(span.traceId, span.parentSpanId));
    if (parent !== undefined && !wouldCycle(span, parent, parents)) {
      parents.set(span, parent);
      parent.children.push(span);
    } else {
      span.externalParent = span.parentSpanId !== undefined;
      roots.get(span.traceId)!.push(span);
    }
  }
  return traceOrder.map((traceId) => {
    const members = [...spans.values()].filter((s) => s.traceId === traceId);
    return {
      traceId,
      roots: roots.get(traceId) ?? [],
      spanCount: members.length,
      eventCount: members.reduce((n, s) => n + s.events.length, 0),
      start: Math.min(...members.map((s) => s.start)),
      end: Math.max(...members.map((s) => s.end)),
    };
  });
}

/** Depth of the deepest span (1 for a trace of unrelated spans). */
export function treeDepth(nodes: readonly SpanNode[]): number {
  return nodes.reduce((depth, node) => Math.max(depth, 1 + treeDepth(node.children)), 0);
}

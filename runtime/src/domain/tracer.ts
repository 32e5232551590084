/**
 * Turns the steps of an operation into TRACE events: redacts payloads before anything is hashed
 * or stored (CRA-SPEC §6.5), seals them onto the session's chain through the store, and publishes
 * the sealed events to live subscribers. With durability `sync` the caller awaits the store.
 */
import {
  isoTime,
  TRACE_VERSION,
  type Clock,
  type EventDraft,
  type IdSource,
  type RedactionRule,
  type TraceEvent,
  type TraceSource,
} from '@cra/core';
import type { TraceStep } from '@cra/core';
import type { TraceStore } from '../store/ports.js';
import { inChildSpan, SpanKind } from './otel.js';

import type { SpanContext } from './span.js';

export type { SpanContext };

export type PayloadRedactor = (
  payload: Record<string, unknown>,
  rules: readonly RedactionRule[],
) => { payload: Record<string, unknown>; redactions: { rule: string; path: string; mode: string }[] };

export type EventListener = (events: readonly TraceEvent[]) => void;

export interface TracerOptions {
  store: TraceStore;
  ids: IdSource;
  clock: Clock;
  source: TraceSource;
  redact: PayloadRedactor;
}

export class Tracer {
  private readonly listeners = new Set<EventListener>();
  private emitted = 0;

  constructor(private readonly options: TracerOptions) {}

  /** Events appended since start (all sessions). */
  get eventsEmitted(): number {
    return this.emitted;
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Hands sealed events to live subscribers. `emit` calls it; so does the Postgres outbox when
   * events spooled during an outage reach the database.
   */
  publish(events: readonly TraceEvent[]): void {
    if (events.length === 0) return;
    this.emitted += events.length;
    for (const listener of this.listeners) {
      try {
        listener(events);
      } catch {
        // A subscriber's failure never affects the operation that emitted the events.
      }
    }
  }

  draft(sessionId: string, span: SpanContext, step: TraceStep, rules: readonly RedactionRule[] = []): EventDraft {
    const { payload, redactions } = this.options.redact(step.payload, rules);
    return {
      trace_version: TRACE_VERSION,
      event_id: this.options.ids.uuid(),
      trace_id: span.trace_id,
      span_id: span.span_id,
      ...(span.parent_span_id ? { parent_span_id: span.parent_span_id } : {}),
      session_id: sessionId,
      timestamp: isoTime(this.options.clock.now()),
      event_type: step.type,
      severity: step.severity ?? 'info',
      source: this.options.source,
      payload: redactions.length > 0 ? { ...payload, redactions } : payload,
    };
  }

  async emit(
    sessionId: string,
    span: SpanContext,
    steps: readonly TraceStep[],
    rules: readonly RedactionRule[] = [],
  ): Promise<TraceEvent[]> {
    if (steps.length === 0) return [];
    const drafts = steps.map((step) => this.draft(sessionId, span, step, rules));
    const events = await inChildSpan('cra.trace.append', SpanKind.INTERNAL, { 'cra.events': drafts.length }, () =>
      this.options.store.append(sessionId, drafts),
    );
    this.publish(events);
    return events;
  }
}

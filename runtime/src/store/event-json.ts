/**
 * The JSON text of a sealed TRACE event, computed once: the trace store writes it to the database
 * and the Redis fan-out publishes the same events a moment later. A sealed event never changes
 * (its hash covers every field), so its text can be reused for as long as the event object lives.
 */
import type { TraceEvent } from '@cra/core';

const texts = new WeakMap<TraceEvent, string>();

export function eventJson(event: TraceEvent): string {
  let text = texts.get(event);
  if (text === undefined) {
    text = JSON.stringify(event);
    texts.set(event, text);
  }
  return text;
}

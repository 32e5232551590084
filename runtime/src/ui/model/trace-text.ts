/**
 * A trace picked from disk: JSONL (`cra trace export`), or a JSON array of events (`--format
 * json`, golden files). Pure (no DOM).
 */
import { parseJsonl, type DiffableEvent } from '@cra/core/browser';

/** JSONL, or a JSON array of events (`cra trace export --format json`, golden files). */
export function parseTraceText(text: string): DiffableEvent[] {
  const trimmed = text.trimStart();
  if (!trimmed.startsWith('[')) return parseJsonl(text);
  const value: unknown = JSON.parse(trimmed);
  if (!Array.isArray(value)) throw new Error('a JSON trace must be an array of events');
  value.forEach((event: unknown, i) => {
    if (typeof (event as { event_type?: unknown } | null)?.event_type !== 'string') {
      throw new Error(`event ${i} has no event_type`);
    }
  });
  return value as DiffableEvent[];
}

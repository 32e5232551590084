/**
 * The viewer's event filter: an event-type prefix, a lowest severity and free text. Pure (no
 * DOM), so it is tested in Node as well as in the browser.
 */
import { SEVERITIES, type Severity, type TraceEvent } from '@cra/core/browser';

export interface ViewFilter {
  /** `carp.policy` keeps `carp.policy.*`; a `*` makes it a glob (`*.failed`). Empty: every type. */
  typePrefix: string;
  /** Lowest severity shown; empty: every severity. */
  minSeverity: Severity | '';
  /** Case-insensitive text searched in the type, ids, hashes, tags and payload. */
  text: string;
}

export const NO_FILTER: ViewFilter = { typePrefix: '', minSeverity: '', text: '' };

const RANK: Readonly<Record<string, number>> = Object.fromEntries(SEVERITIES.map((s, i) => [s, i]));

export function severityRank(severity: string): number {
  return RANK[severity] ?? -1;
}

/** Every searchable string of an event, lower-cased once per event. */
const haystacks = new WeakMap<TraceEvent, string>();

function haystack(event: TraceEvent): string {
  let text = haystacks.get(event);
  if (text === undefined) {
    text = [
      event.event_type,
      event.event_id,
      event.trace_id,
      event.span_id,
      event.parent_span_id ?? '',
      event.event_hash,
      String(event.sequence),
      JSON.stringify(event.tags ?? {}),
      JSON.stringify(event.payload),
    ]
      .join('\n')
      .toLowerCase();
    haystacks.set(event, text);
  }
  return text;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

function typeMatcher(typePrefix: string): (type: string) => boolean {
  const prefix = typePrefix.trim();
  if (prefix === '') return () => true;
  if (prefix.includes('*')) {
    const re = new RegExp(`^${prefix.split('*').map(escapeRegExp).join('.*')}$`);
    return (type) => re.test(type);
  }
  return (type) => type.startsWith(prefix);
}

/** The events that pass, in their order. */
export function filterEvents(events: readonly TraceEvent[], filter: ViewFilter): TraceEvent[] {
  const typeOk = typeMatcher(filter.typePrefix);
  const floor = filter.minSeverity === '' ? -1 : severityRank(filter.minSeverity);
  const needle = filter.text.trim().toLowerCase();
  return events.filter(
    (event) =>
      typeOk(event.event_type) &&
      severityRank(event.severity) >= floor &&
      (needle === '' || haystack(event).includes(needle)),
  );
}

export function isFiltering(filter: ViewFilter): boolean {
  return filter.typePrefix.trim() !== '' || filter.minSeverity !== '' || filter.text.trim() !== '';
}

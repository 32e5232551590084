/**
 * One event in full: envelope members, its place in the hash chain, what redaction removed
 * (rule, path and mode; never the value) and the payload as JSON.
 */
import { GENESIS_HASH, type TraceEvent } from '@cra/core/browser';
import { formatTime, h } from '../dom.js';

interface Redaction {
  rule?: unknown;
  path?: unknown;
  mode?: unknown;
}

function row(label: string, value: Node | string | null | undefined): (HTMLElement | null)[] {
  if (value === undefined || value === null || value === '') return [null];
  return [h('dt', {}, label), h('dd', {}, value)];
}

function linkage(event: TraceEvent, previous: TraceEvent | undefined): string {
  if (event.sequence === 0)
    return event.previous_event_hash === GENESIS_HASH ? 'genesis (64 zeros) ✓' : 'not genesis ✗';
  if (!previous) return `event #${event.sequence - 1} is not loaded`;
  return previous.event_hash === event.previous_event_hash
    ? `the hash of event #${previous.sequence} ✓`
    : `does not match the hash of event #${previous.sequence} ✗`;
}

function redactionsOf(event: TraceEvent): Redaction[] {
  const list = event.payload['redactions'];
  return Array.isArray(list) ? (list as Redaction[]) : [];
}

function redactionTable(redactions: readonly Redaction[]): HTMLElement {
  if (redactions.length === 0) return h('p', { class: 'empty' }, 'Nothing was redacted in this event.');
  return h(
    'table',
    { class: 'data redactions' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Rule', 'Path', 'Mode'].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    h(
      'tbody',
      {},
      redactions.map((r) =>
        h(
          'tr',
          {},
          h('td', {}, String(r.rule ?? '?')),
          h('td', {}, h('code', {}, String(r.path ?? '?'))),
          h('td', {}, String(r.mode ?? '?')),
        ),
      ),
    ),
  );
}

export function eventDetailView(event: TraceEvent | undefined, previous: TraceEvent | undefined): HTMLElement {
  if (!event) {
    return h(
      'section',
      { class: 'detail', 'aria-label': 'Event detail' },
      h('p', { class: 'empty' }, 'Select an event to see its payload, hashes and redactions.'),
    );
  }
  const redactions = redactionsOf(event);
  const source = `${event.source.component} ${event.source.version} @ ${event.source.instance_id}`;
  return h(
    'section',
    { class: 'detail', 'aria-labelledby': 'detail-title', 'data-sequence': String(event.sequence) },
    h(
      'h2',
      { id: 'detail-title', tabindex: '-1' },
      `#${event.sequence} `,
      h('span', { class: 'mono' }, event.event_type),
      ' ',
      h('span', { class: `sev sev-${event.severity}` }, event.severity),
    ),
    h(
      'dl',
      { class: 'fields' },
      row('Time', formatTime(event.timestamp)),
      row('Event id', h('code', {}, event.event_id)),
      row('Trace id', h('code', {}, event.trace_id)),
      row('Span id', h('code', {}, event.span_id)),
      row('Parent span', event.parent_span_id ? h('code', {}, event.parent_span_id) : undefined),
      row('Source', source),
      row('Tags', event.tags ? h('code', {}, JSON.stringify(event.tags)) : undefined),
    ),
    h('h3', {}, 'Hash chain'),
    h(
      'dl',
      { class: 'fields hashes' },
      row('Event hash', h('code', { class: 'hash' }, event.event_hash)),
      row('Previous hash', h('code', { class: 'hash' }, event.previous_event_hash)),
      row('Links to', linkage(event, previous)),
    ),
    h('h3', {}, `Redactions (${redactions.length})`),
    redactionTable(redactions),
    h('h3', {}, 'Payload'),
    h('pre', { class: 'payload', tabindex: '0', 'aria-label': 'Payload JSON' }, JSON.stringify(event.payload, null, 2)),
  );
}

/**
 * The event filter form: type prefix (with the session's event types offered), lowest severity
 * and free text. Every change applies at once.
 */
import { SEVERITIES, type TraceEvent } from '@cra/core/browser';
import { h } from '../dom.js';
import { NO_FILTER, type ViewFilter } from '../model/filter.js';

export function filterForm(events: readonly TraceEvent[], onChange: (filter: ViewFilter) => void): HTMLElement {
  const types = [...new Set(events.map((e) => e.event_type))].sort();
  const prefixes = [
    ...new Set(types.flatMap((t) => t.split('.').map((_, i, parts) => parts.slice(0, i + 1).join('.')))),
  ];
  const typeInput = h('input', {
    id: 'filter-type',
    name: 'type',
    type: 'search',
    list: 'filter-type-options',
    placeholder: 'e.g. carp.policy or *.failed',
    autocomplete: 'off',
  });
  const severity = h(
    'select',
    { id: 'filter-severity', name: 'severity' },
    h('option', { value: '' }, 'any'),
    SEVERITIES.map((s) => h('option', { value: s }, `${s} and above`)),
  );
  const text = h('input', {
    id: 'filter-text',
    name: 'text',
    type: 'search',
    placeholder: 'text in the payload, ids, hashes',
    autocomplete: 'off',
  });
  const read = (): ViewFilter => ({
    typePrefix: typeInput.value,
    minSeverity: severity.value as ViewFilter['minSeverity'],
    text: text.value,
  });
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter events' },
    h('div', { class: 'field' }, h('label', { for: 'filter-type' }, 'Event type'), typeInput),
    h(
      'datalist',
      { id: 'filter-type-options' },
      prefixes.map((p) => h('option', { value: p })),
    ),
    h('div', { class: 'field' }, h('label', { for: 'filter-severity' }, 'Severity'), severity),
    h('div', { class: 'field grow' }, h('label', { for: 'filter-text' }, 'Search'), text),
    h(
      'button',
      {
        type: 'reset',
        class: 'secondary',
      },
      'Clear',
    ),
  );
  form.addEventListener('input', () => onChange(read()));
  form.addEventListener('change', () => onChange(read()));
  form.addEventListener('submit', (event) => event.preventDefault());
  form.addEventListener('reset', () => queueMicrotask(() => onChange(NO_FILTER)));
  return form;
}

/**
 * The timeline: one row per event, in sequence order, with its offset from the session's first
 * event and a mark on a time axis shared by every row (the axis spans the whole session, so
 * filtering does not move the marks). Severity is a colour and a word; the event where the chain
 * breaks is marked.
 */
import type { TraceEvent } from '@cra/core/browser';
import { formatTime, h } from '../dom.js';
import { formatOffset, timeScale } from '../model/time.js';

export interface TimelineOptions {
  /** Every event of the session: the axis spans them. */
  all: readonly TraceEvent[];
  selected: string | undefined;
  /** The sequence of the event where verification failed. */
  brokenSequence: number | undefined;
  onSelect(event: TraceEvent): void;
}

const TICKS = 2;

function axis(scale: ReturnType<typeof timeScale>): HTMLElement {
  const row = h('div', { class: 'axis', 'aria-hidden': 'true' });
  for (const tick of scale.ticks(TICKS)) {
    const mark = h('span', { class: 'tick' }, tick.label);
    mark.style.left = `${tick.position * 100}%`;
    row.append(mark);
  }
  return row;
}

export function timelineView(events: readonly TraceEvent[], options: TimelineOptions): HTMLElement {
  const scale = timeScale(options.all.map((e) => Date.parse(e.timestamp)));
  const rows = events.map((event) => {
    const time = Date.parse(event.timestamp);
    const mark = h('span', { class: `mark sev-${event.severity}` });
    mark.style.left = `${scale.position(time) * 100}%`;
    const lane = h('div', { class: 'lane' }, mark);
    const broken = event.sequence === options.brokenSequence;
    const selected = event.event_id === options.selected;
    return h(
      'tr',
      {
        class: `event-row sev-${event.severity}${selected ? ' selected' : ''}${broken ? ' broken' : ''}`,
        'data-sequence': String(event.sequence),
        'aria-selected': selected ? 'true' : 'false',
      },
      h('td', { class: 'num' }, String(event.sequence)),
      h('td', { class: 'offset', title: formatTime(event.timestamp) }, formatOffset(time - scale.start)),
      h('td', { class: 'track', 'aria-hidden': 'true' }, lane),
      h(
        'td',
        { class: 'type' },
        h('button', { type: 'button', class: 'link', onclick: () => options.onSelect(event) }, event.event_type),
        broken ? h('span', { class: 'broken-flag' }, ' ⚠ chain breaks here') : null,
      ),
      h('td', {}, h('span', { class: `sev sev-${event.severity}` }, event.severity)),
    );
  });
  return h(
    'table',
    { class: 'data timeline', 'aria-label': 'Timeline of events' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, '#'),
        h('th', { scope: 'col' }, 'Time'),
        h('th', { scope: 'col', class: 'track' }, h('span', { class: 'visually-hidden' }, 'Time axis'), axis(scale)),
        h('th', { scope: 'col' }, 'Event type'),
        h('th', { scope: 'col' }, 'Severity'),
      ),
    ),
    h('tbody', {}, rows),
  );
}

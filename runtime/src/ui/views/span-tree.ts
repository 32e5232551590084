/**
 * The span hierarchy: traces, the spans of each nested by parent, and each span's events. Built
 * from every event of the session (so the nesting never changes), showing the spans that hold a
 * filtered event, or whose descendants do. `<details>` makes every level keyboard-operable.
 */
import type { TraceEvent } from '@cra/core/browser';
import { h, shortId } from '../dom.js';
import { buildSpanTree, type SpanNode } from '../model/spans.js';
import { formatDuration } from '../model/time.js';

export interface SpanTreeOptions {
  selected: string | undefined;
  onSelect(event: TraceEvent): void;
}

function visible(span: SpanNode, shown: ReadonlySet<TraceEvent>): boolean {
  return span.events.some((e) => shown.has(e)) || span.children.some((c) => visible(c, shown));
}

function spanItem(
  span: SpanNode,
  depth: number,
  shown: ReadonlySet<TraceEvent>,
  options: SpanTreeOptions,
): HTMLElement {
  const events = span.events.filter((e) => shown.has(e));
  const children = span.children.filter((c) => visible(c, shown));
  const summary = h(
    'summary',
    {},
    h('span', { class: `sev-dot sev-${span.worstSeverity}`, 'aria-hidden': 'true' }),
    h('span', { class: 'span-name' }, span.name),
    ' ',
    h('code', { class: 'span-id', title: `span ${span.spanId}` }, span.spanId),
    h(
      'span',
      { class: 'span-meta' },
      ` · ${span.events.length} event(s) · ${formatDuration(span.end - span.start)}`,
      children.length > 0 ? ` · ${children.length} child span(s)` : '',
      span.externalParent && span.parentSpanId ? ` · parent ${span.parentSpanId} (not in this trace)` : '',
    ),
  );
  const list = h(
    'ol',
    { class: 'span-events' },
    events.map((event) =>
      h(
        'li',
        { class: event.event_id === options.selected ? 'selected' : undefined },
        h(
          'button',
          { type: 'button', class: 'link', onclick: () => options.onSelect(event) },
          `#${event.sequence} ${event.event_type}`,
        ),
        ' ',
        h('span', { class: `sev sev-${event.severity}` }, event.severity),
      ),
    ),
  );
  return h(
    'li',
    { class: 'span', 'data-span-id': span.spanId, 'data-depth': String(depth) },
    h(
      'details',
      { open: true },
      summary,
      list,
      children.length > 0
        ? h(
            'ul',
            { class: 'span-children' },
            children.map((c) => spanItem(c, depth + 1, shown, options)),
          )
        : null,
    ),
  );
}

export function spanTreeView(
  all: readonly TraceEvent[],
  shownEvents: readonly TraceEvent[],
  options: SpanTreeOptions,
): HTMLElement {
  const shown = new Set(shownEvents);
  const traces = buildSpanTree(all);
  const container = h('div', { class: 'span-tree' });
  for (const trace of traces) {
    const roots = trace.roots.filter((r) => visible(r, shown));
    if (roots.length === 0) continue;
    container.append(
      h(
        'section',
        { class: 'trace', 'data-trace-id': trace.traceId },
        h(
          'h3',
          {},
          'Trace ',
          h('code', { title: trace.traceId }, shortId(trace.traceId, 12, 6)),
          h(
            'span',
            { class: 'span-meta' },
            ` · ${trace.spanCount} span(s) · ${trace.eventCount} event(s) · ${formatDuration(trace.end - trace.start)}`,
          ),
        ),
        h(
          'ul',
          { class: 'span-roots' },
          roots.map((r) => spanItem(r, 0, shown, options)),
        ),
      ),
    );
  }
  if (container.childElementCount === 0) container.append(h('p', { class: 'empty' }, 'No span has a matching event.'));
  return container;
}

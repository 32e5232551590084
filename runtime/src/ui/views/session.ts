/**
 * One session: its facts, the chain verification, the events filtered, as a timeline or as spans,
 * the selected event in full, and (from a runtime) new events live over the WebSocket.
 */
import type { TraceEvent } from '@cra/core/browser';
import type { Session } from '../api.js';
import { download, formatTime, h, replace } from '../dom.js';
import { LiveTail, type LiveState } from '../live.js';
import { filterEvents, isFiltering, NO_FILTER, type ViewFilter } from '../model/filter.js';
import { eventDetailView } from './event-detail.js';
import { filterForm } from './filter-form.js';
import { spanTreeView } from './span-tree.js';
import { timelineView } from './timeline.js';
import { brokenSequence, verificationView, type VerificationState } from './verification.js';
import { reason, type View, type ViewContext } from './view.js';

type Tab = 'timeline' | 'spans';

/** New live events are verified again after this quiet period. */
const REVERIFY_MS = 1_000;

function facts(session: Session, events: readonly TraceEvent[]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    h('dt', {}, 'Agent'),
    h('dd', {}, session.agent_id, session.agent_type ? ` (${session.agent_type})` : ''),
    h('dt', {}, 'Status'),
    h('dd', {}, h('span', { class: `status status-${session.status}` }, session.status)),
    h('dt', {}, 'Started'),
    h('dd', {}, formatTime(session.started_at)),
    session.ended_at ? [h('dt', {}, 'Ended'), h('dd', {}, formatTime(session.ended_at))] : null,
    h('dt', {}, 'Events'),
    h('dd', { class: 'event-count' }, String(events.length)),
  );
}

class SessionPage {
  private filter: ViewFilter = NO_FILTER;
  private tab: Tab = 'timeline';
  private selected: string | undefined;
  private verification: VerificationState = { state: 'pending' };
  private live: LiveTail | undefined;
  private reverify: ReturnType<typeof setTimeout> | undefined;
  private repaint = 0;

  private readonly verifyRegion = h('div', { class: 'verify-region' });
  private readonly factsRegion = h('div', { class: 'facts-region' });
  private readonly count = h('p', { class: 'count', 'aria-live': 'polite' });
  private readonly panel = h('div', { class: 'tab-panel', role: 'tabpanel', id: 'events-panel', tabindex: '0' });
  private readonly detail = h('div', { class: 'detail-region' });
  private readonly liveStatus = h('span', { class: 'live-status', role: 'status', 'data-state': 'stopped' });
  private readonly tabs: Record<Tab, HTMLButtonElement>;
  readonly element: HTMLElement;

  constructor(
    private readonly ctx: ViewContext,
    private readonly session: Session,
    private readonly events: TraceEvent[],
  ) {
    const tab = (id: Tab, label: string): HTMLButtonElement =>
      h(
        'button',
        {
          type: 'button',
          role: 'tab',
          id: `tab-${id}`,
          'aria-controls': 'events-panel',
          onclick: () => this.showTab(id),
        },
        label,
      );
    this.tabs = { timeline: tab('timeline', 'Timeline'), spans: tab('spans', 'Spans') };
    this.element = h(
      'section',
      { class: 'session-page', 'data-session-id': session.session_id },
      h('h1', { tabindex: '-1' }, 'Session ', h('code', { class: 'session-id' }, session.session_id)),
      h('div', { class: 'session-head' }, this.factsRegion, this.verifyRegion),
      this.toolbar(),
      h(
        'div',
        { class: 'session-body' },
        h(
          'div',
          { class: 'events-column' },
          filterForm(events, (f) => {
            this.filter = f;
            this.renderEvents();
          }),
          h(
            'div',
            { class: 'tabs', role: 'tablist', 'aria-label': 'Event views' },
            this.tabs.timeline,
            this.tabs.spans,
          ),
          this.count,
          this.panel,
        ),
        this.detail,
      ),
    );
    this.renderFacts();
    this.renderVerification();
    this.renderEvents();
    this.renderDetail();
  }

  private toolbar(): HTMLElement {
    const verifyButton = h('button', { type: 'button', onclick: () => void this.verify() }, 'Verify again');
    const exportButton = h(
      'button',
      { type: 'button', class: 'secondary', onclick: () => void this.export() },
      'Download JSONL',
    );
    const compare = h('a', { href: `#/diff?a=${this.session.session_id}`, class: 'button secondary' }, 'Compare with…');
    const bar = h('div', { class: 'toolbar' }, verifyButton, exportButton, compare);
    if (this.ctx.config.mode === 'runtime') {
      const toggle = h('input', { type: 'checkbox', id: 'live-toggle', checked: this.session.status === 'active' });
      toggle.addEventListener('change', () => (toggle.checked ? this.startLive() : this.stopLive()));
      bar.append(
        h('span', { class: 'live' }, toggle, h('label', { for: 'live-toggle' }, 'Follow live'), ' ', this.liveStatus),
      );
      if (toggle.checked) queueMicrotask(() => this.startLive());
    }
    return bar;
  }

  dispose(): void {
    clearTimeout(this.reverify);
    cancelAnimationFrame(this.repaint);
    this.live?.stop();
    this.live = undefined;
  }

  async verify(): Promise<void> {
    this.verification = { state: 'pending' };
    this.renderVerification();
    try {
      this.verification = { state: 'done', result: await this.ctx.api.verify(this.session.session_id) };
    } catch (err) {
      this.verification = { state: 'failed', message: reason(err) };
    }
    this.renderVerification();
    this.renderEvents();
    if (this.verification.state === 'done') {
      this.ctx.announce(this.verification.result.valid ? 'Hash chain valid.' : 'Hash chain INVALID.');
    }
  }

  private async export(): Promise<void> {
    try {
      const text = await this.ctx.api.jsonl(this.session.session_id);
      download(`${this.session.session_id}.trace.jsonl`, text, 'application/x-ndjson');
    } catch (err) {
      this.ctx.announce(`Export failed: ${reason(err)}`);
      window.alert(`Export failed: ${reason(err)}`);
    }
  }

  private startLive(): void {
    this.live?.stop();
    this.live = new LiveTail({
      sessionId: this.session.session_id,
      fromSequence: (this.events.at(-1)?.sequence ?? -1) + 1,
      key: this.ctx.key(),
      onEvent: (event) => this.onLiveEvent(event),
      onState: (state, detail) => this.showLiveState(state, detail),
    });
    this.live.start();
  }

  private stopLive(): void {
    this.live?.stop();
    this.live = undefined;
  }

  private showLiveState(state: LiveState, detail?: string): void {
    this.liveStatus.dataset.state = state;
    const words: Record<LiveState, string> = {
      connecting: 'connecting…',
      live: '● live',
      reconnecting: 'reconnecting…',
      stopped: 'off',
    };
    this.liveStatus.textContent = detail ? `${words[state]} (${detail})` : words[state];
  }

  private onLiveEvent(event: TraceEvent): void {
    const last = this.events.at(-1);
    if (last && event.sequence <= last.sequence) return;
    this.events.push(event);
    cancelAnimationFrame(this.repaint);
    this.repaint = requestAnimationFrame(() => {
      this.renderFacts();
      this.renderEvents();
    });
    clearTimeout(this.reverify);
    this.reverify = setTimeout(() => void this.verify(), REVERIFY_MS);
  }

  private showTab(tab: Tab): void {
    this.tab = tab;
    this.renderEvents();
  }

  private select(event: TraceEvent): void {
    this.selected = event.event_id;
    this.renderEvents();
    this.renderDetail();
    this.detail.querySelector<HTMLElement>('#detail-title')?.focus();
  }

  private renderFacts(): void {
    replace(this.factsRegion, facts(this.session, this.events));
  }

  private renderVerification(): void {
    replace(this.verifyRegion, verificationView(this.verification, this.events));
  }

  private renderEvents(): void {
    for (const [id, button] of Object.entries(this.tabs)) {
      button.setAttribute('aria-selected', String(id === this.tab));
      button.tabIndex = id === this.tab ? 0 : -1;
    }
    this.panel.setAttribute('aria-labelledby', `tab-${this.tab}`);
    const shown = filterEvents(this.events, this.filter);
    this.count.textContent = isFiltering(this.filter)
      ? `Showing ${shown.length} of ${this.events.length} events`
      : `${this.events.length} events`;
    const onSelect = (event: TraceEvent): void => this.select(event);
    replace(
      this.panel,
      this.tab === 'timeline'
        ? timelineView(shown, {
            all: this.events,
            selected: this.selected,
            brokenSequence: brokenSequence(this.verification, this.events),
            onSelect,
          })
        : spanTreeView(this.events, shown, { selected: this.selected, onSelect }),
    );
  }

  private renderDetail(): void {
    const index = this.events.findIndex((e) => e.event_id === this.selected);
    const event = index >= 0 ? this.events[index] : undefined;
    replace(this.detail, eventDetailView(event, index > 0 ? this.events[index - 1] : undefined));
  }
}

export async function sessionView(ctx: ViewContext, sessionId: string): Promise<View> {
  let session: Session;
  let events: TraceEvent[];
  try {
    [session, events] = await Promise.all([ctx.api.session(sessionId), ctx.api.events(sessionId)]);
  } catch (err) {
    return {
      element: h(
        'section',
        {},
        h('h1', { tabindex: '-1' }, 'Session ', h('code', {}, sessionId)),
        h('p', { class: 'error', role: 'alert' }, `Could not load the session: ${reason(err)}`),
        h('p', {}, h('a', { href: '#/sessions' }, '← All sessions')),
      ),
    };
  }
  const page = new SessionPage(ctx, session, events);
  void page.verify();
  return { element: page.element, dispose: () => page.dispose() };
}

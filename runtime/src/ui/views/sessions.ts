/**
 * The sessions list: newest first, a page at a time, filtered by status. An agent's key lists
 * its own sessions; admin and auditor keys list every session (the runtime decides).
 */
import type { SessionStatus } from '../api.js';
import { formatTime, h } from '../dom.js';
import { reason, type View, type ViewContext } from './view.js';

export const PAGE_SIZE = 50;
const STATUSES: readonly SessionStatus[] = ['active', 'ended', 'error'];

function hashFor(status: string, offset: number): string {
  const query = new URLSearchParams();
  if (status !== '') query.set('status', status);
  if (offset > 0) query.set('offset', String(offset));
  const text = query.toString();
  return `#/sessions${text ? `?${text}` : ''}`;
}

export async function sessionsView(ctx: ViewContext, params: URLSearchParams): Promise<View> {
  const status = STATUSES.find((s) => s === params.get('status')) ?? '';
  const offset = Math.max(0, Number.parseInt(params.get('offset') ?? '0', 10) || 0);
  const select = h(
    'select',
    { id: 'status-filter', name: 'status' },
    h('option', { value: '' }, 'any'),
    STATUSES.map((s) => h('option', { value: s, selected: s === status }, s)),
  );
  select.addEventListener('change', () => ctx.navigate(hashFor(select.value, 0)));
  const element = h(
    'section',
    { class: 'sessions' },
    h('h1', { tabindex: '-1' }, 'Sessions'),
    ctx.config.mode === 'file'
      ? h('p', { class: 'note' }, `From ${ctx.config.file}: ${ctx.config.events} event(s), read-only.`)
      : null,
    h('div', { class: 'toolbar' }, h('label', { for: 'status-filter' }, 'Status'), select),
  );
  let page;
  try {
    page = await ctx.api.sessions({ limit: PAGE_SIZE, offset, ...(status ? { status } : {}) });
  } catch (err) {
    element.append(h('p', { class: 'error', role: 'alert' }, `Could not list sessions: ${reason(err)}`));
    return { element };
  }
  if (page.sessions.length === 0) {
    element.append(h('p', { class: 'empty' }, offset > 0 ? 'No more sessions.' : 'No sessions yet.'));
  } else {
    element.append(
      h(
        'table',
        { class: 'data sessions-table' },
        h('caption', {}, `Sessions ${offset + 1}–${offset + page.sessions.length}, newest first`),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Session', 'Agent', 'Agent type', 'Status', 'Started', 'Events'].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          {},
          page.sessions.map((s) =>
            h(
              'tr',
              { 'data-session-id': s.session_id },
              h('td', {}, h('a', { href: `#/sessions/${s.session_id}`, class: 'mono' }, s.session_id)),
              h('td', {}, s.agent_id),
              h('td', {}, s.agent_type ?? '—'),
              h('td', {}, h('span', { class: `status status-${s.status}` }, s.status)),
              h('td', {}, formatTime(s.started_at)),
              h('td', { class: 'num' }, String(s.event_count)),
            ),
          ),
        ),
      ),
    );
  }
  const nav = h('nav', { class: 'pager', 'aria-label': 'Pages of sessions' });
  if (offset > 0) nav.append(h('a', { href: hashFor(status, Math.max(0, offset - PAGE_SIZE)) }, '← Newer'));
  if (page.next_offset !== undefined) nav.append(h('a', { href: hashFor(status, page.next_offset) }, 'Older →'));
  if (nav.childElementCount > 0) element.append(nav);
  return { element };
}

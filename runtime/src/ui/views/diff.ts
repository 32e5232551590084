/**
 * Comparing two traces with core's diff (CRA-SPEC §7, ADR 0004), in the browser: each side is a
 * session of this runtime (or of the visualized file) or a JSONL file picked from disk. The
 * verdict is identical, compatible or breaking, with every difference listed.
 */
import { diffTraces, type DiffableEvent, type TraceDiff } from '@cra/core/browser';
import type { Session } from '../api.js';
import { h, replace, shortId } from '../dom.js';
import { parseTraceText } from '../model/trace-text.js';
import { reason, type View, type ViewContext } from './view.js';

interface Side {
  element: HTMLElement;
  load(): Promise<{ label: string; events: DiffableEvent[] }>;
}

function side(
  ctx: ViewContext,
  name: 'a' | 'b',
  title: string,
  sessions: readonly Session[],
  initial: string | null,
): Side {
  const sourceName = `source-${name}`;
  const select = h(
    'select',
    { id: `session-${name}`, name: `session-${name}` },
    h('option', { value: '' }, '— choose a session —'),
    sessions.map((s) =>
      h(
        'option',
        { value: s.session_id, selected: s.session_id === initial },
        `${shortId(s.session_id, 13, 4)} · ${s.agent_id} · ${s.event_count} events · ${s.status}`,
      ),
    ),
  );
  const file = h('input', { id: `file-${name}`, name: `file-${name}`, type: 'file', accept: '.jsonl,.json,.ndjson' });
  const useSession = h('input', {
    type: 'radio',
    name: sourceName,
    id: `${sourceName}-session`,
    value: 'session',
    checked: true,
  });
  const useFile = h('input', { type: 'radio', name: sourceName, id: `${sourceName}-file`, value: 'file' });
  file.addEventListener('change', () => (useFile.checked = true));
  select.addEventListener('change', () => (useSession.checked = true));
  const element = h(
    'fieldset',
    { class: 'diff-side', 'data-side': name },
    h('legend', {}, title),
    h(
      'div',
      { class: 'field' },
      useSession,
      h('label', { for: `${sourceName}-session` }, 'A session'),
      h('label', { for: `session-${name}`, class: 'visually-hidden' }, `${title}: session`),
      select,
    ),
    h(
      'div',
      { class: 'field' },
      useFile,
      h('label', { for: `${sourceName}-file` }, 'A JSONL file'),
      h('label', { for: `file-${name}`, class: 'visually-hidden' }, `${title}: file`),
      file,
    ),
  );
  return {
    element,
    async load() {
      if (useFile.checked) {
        const picked = file.files?.[0];
        if (!picked) throw new Error(`${title}: pick a file`);
        try {
          return { label: picked.name, events: parseTraceText(await picked.text()) };
        } catch (err) {
          throw new Error(`${title} (${picked.name}): ${reason(err)}`, { cause: err });
        }
      }
      if (select.value === '') throw new Error(`${title}: choose a session`);
      return { label: select.value, events: await ctx.api.events(select.value) };
    },
  };
}

function resultView(diff: TraceDiff, a: string, b: string): HTMLElement {
  const s = diff.summary;
  const words = { identical: 'Identical', compatible: 'Compatible', breaking: 'Breaking' } as const;
  return h(
    'section',
    { class: 'diff-result', 'data-compatibility': diff.compatibility, 'aria-labelledby': 'diff-verdict' },
    h(
      'h2',
      { id: 'diff-verdict', class: `verdict verdict-${diff.compatibility}`, tabindex: '-1' },
      words[diff.compatibility],
    ),
    h(
      'p',
      {},
      'Expected ',
      h('code', {}, a),
      ', actual ',
      h('code', {}, b),
      `: ${s.events_compared} event(s) compared, ${s.events_modified} modified, ${s.events_added} added, `,
      `${s.events_removed} removed, ${s.events_retyped} retyped.`,
    ),
    diff.differences.length === 0
      ? h('p', { class: 'empty' }, 'No differences (ids, timestamps, hashes and durations are ignored).')
      : h(
          'table',
          { class: 'data differences' },
          h('caption', {}, `${diff.differences.length} difference(s)`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Severity', 'Kind', 'Event type', 'Path', 'Message'].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            {},
            diff.differences.map((d) =>
              h(
                'tr',
                { class: `diff-${d.severity}` },
                h('td', {}, h('span', { class: `sev diff-sev-${d.severity}` }, d.severity)),
                h('td', {}, d.kind),
                h('td', { class: 'mono' }, d.event_type),
                h('td', {}, h('code', {}, d.path)),
                h('td', {}, d.message),
              ),
            ),
          ),
        ),
  );
}

const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export async function diffView(ctx: ViewContext, params: URLSearchParams): Promise<View> {
  let sessions: Session[] = [];
  let listError = '';
  try {
    sessions = (await ctx.api.sessions({ limit: 200, offset: 0 })).sessions;
  } catch (err) {
    listError = `Could not list sessions (pick files instead): ${reason(err)}`;
  }
  const a = side(ctx, 'a', 'Expected (A)', sessions, params.get('a'));
  const b = side(ctx, 'b', 'Actual (B)', sessions, params.get('b'));
  const ignore = h('input', {
    id: 'diff-ignore',
    name: 'ignore',
    type: 'text',
    placeholder: 'e.g. goal, *_ms, payload.scope',
  });
  const ignoreTypes = h('input', {
    id: 'diff-ignore-types',
    name: 'ignore-types',
    type: 'text',
    placeholder: 'e.g. system.*',
  });
  const output = h('div', { class: 'diff-output', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, 'Compare');
  const form = h(
    'form',
    { class: 'diff-form', 'aria-label': 'Traces to compare' },
    h('div', { class: 'diff-sides' }, a.element, b.element),
    h(
      'details',
      { class: 'diff-options' },
      h('summary', {}, 'Options'),
      h('div', { class: 'field' }, h('label', { for: 'diff-ignore' }, 'Also ignore members (comma-separated)'), ignore),
      h(
        'div',
        { class: 'field' },
        h('label', { for: 'diff-ignore-types' }, 'Leave out event types (globs)'),
        ignoreTypes,
      ),
    ),
    button,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    replace(output, h('p', {}, 'Comparing…'));
    Promise.all([a.load(), b.load()])
      .then(([left, right]) => {
        const diff = diffTraces(left.events, right.events, {
          ignore: list(ignore.value),
          ignoreEventTypes: list(ignoreTypes.value),
        });
        replace(output, resultView(diff, left.label, right.label));
        ctx.announce(`Traces compared: ${diff.compatibility}.`);
      })
      .catch((err: unknown) => replace(output, h('p', { class: 'error', role: 'alert' }, reason(err))))
      .finally(() => (button.disabled = false));
  });
  const element = h(
    'section',
    { class: 'diff-page' },
    h('h1', { tabindex: '-1' }, 'Compare two traces'),
    h(
      'p',
      {},
      'Events are aligned by type; ids, timestamps, hashes and durations are ignored. A missing, extra or re-typed ',
      'event, or a changed decision, grant, denial or error code is breaking; other changes are compatible.',
    ),
    listError ? h('p', { class: 'error' }, listError) : null,
    form,
    output,
  );
  return { element };
}

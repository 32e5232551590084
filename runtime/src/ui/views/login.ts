/**
 * The sign-in box: the runtime's API needs an API key (or JWT). It is checked with one call
 * before it is kept, so a mistyped key is reported here, not on every page.
 */
import { ApiError, type Api } from '../api.js';
import { credentials } from '../credentials.js';
import { h } from '../dom.js';
import { reason, type View } from './view.js';

export function loginView(api: Api, notice: string | undefined, onSignedIn: () => void): View {
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    spellcheck: 'false',
    'aria-describedby': 'api-key-help',
  });
  const error = h('p', { class: 'error', role: 'alert', id: 'login-error' }, notice ?? '');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'login-form', 'aria-labelledby': 'login-title' },
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h(
      'p',
      { id: 'api-key-help', class: 'help' },
      'The key (or JWT) is sent as ',
      h('code', {}, 'Authorization: Bearer'),
      ' to this runtime only and kept in this browser tab until you sign out or close it. ',
      'Agents see their own sessions; admin and auditor keys see every session.',
    ),
    button,
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === '') return;
    button.disabled = true;
    error.textContent = '';
    credentials.set(key);
    api
      .sessions({ limit: 1, offset: 0 })
      .then(() => onSignedIn())
      .catch((err: unknown) => {
        credentials.clear();
        error.textContent =
          err instanceof ApiError && err.status === 401
            ? `The runtime refused this key (${err.message}).`
            : `Could not reach the runtime: ${reason(err)}`;
        button.disabled = false;
        input.focus();
      });
  });
  const element = h(
    'section',
    { class: 'login' },
    h('h1', { id: 'login-title' }, 'Sign in to the trace viewer'),
    h(
      'p',
      {},
      'The viewer shows the TRACE audit log of CARP sessions: their events on a timeline and as spans, ',
      'the hash-chain verification, live events and the difference between two traces.',
    ),
    form,
  );
  queueMicrotask(() => input.focus());
  return { element };
}

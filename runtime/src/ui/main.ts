/**
 * The trace viewer's entry point (bundled into app.js by runtime/scripts/build-ui.mjs): the page
 * shell, sign-in, and hash routes — `#/sessions`, `#/sessions/<id>`, `#/diff`. Served at `/ui` by
 * the runtime, or by `cra trace visualize` for one JSONL file (no key then).
 */
import { Api } from './api.js';
import { loadViewerConfig, type ViewerConfig } from './config.js';
import { credentials } from './credentials.js';
import { h, replace } from './dom.js';
import { diffView } from './views/diff.js';
import { loginView } from './views/login.js';
import { sessionView } from './views/session.js';
import { sessionsView } from './views/sessions.js';
import type { View, ViewContext } from './views/view.js';

interface Route {
  path: string[];
  params: URLSearchParams;
}

function currentRoute(): Route {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

class App {
  private readonly api: Api;
  private readonly main = document.getElementById('main') ?? document.body;
  /** Announcements for screen readers (verification results, comparisons, failures). */
  private readonly status = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  private readonly account = h('div', { class: 'account' });
  private view: View | undefined;
  private generation = 0;
  private notice: string | undefined;

  constructor(private readonly config: ViewerConfig) {
    this.api = new Api({
      key: () => (config.mode === 'runtime' ? credentials.get() : null),
      onUnauthorized: () => {
        credentials.clear();
        // The sign-in box reports a refused key itself.
        if (this.view?.element.classList.contains('login')) return;
        this.notice = 'The runtime refused the key (expired or revoked?): sign in again.';
        void this.render();
      },
    });
  }

  start(): void {
    const header = document.getElementById('top') ?? document.body.insertBefore(h('header'), this.main);
    replace(
      header,
      h('a', { class: 'brand', href: '#/sessions' }, 'CRA trace viewer'),
      h(
        'nav',
        { 'aria-label': 'Viewer' },
        h('a', { href: '#/sessions' }, 'Sessions'),
        h('a', { href: '#/diff' }, 'Compare traces'),
      ),
      this.account,
    );
    this.main.after(this.status);
    window.addEventListener('hashchange', () => void this.render());
    void this.render();
  }

  private context(): ViewContext {
    return {
      config: this.config,
      api: this.api,
      key: () => (this.config.mode === 'runtime' ? credentials.get() : null),
      navigate: (hash) => {
        if (location.hash === hash) void this.render();
        else location.hash = hash;
      },
      announce: (message) => {
        this.status.textContent = message;
      },
    };
  }

  private renderAccount(signedIn: boolean): void {
    if (this.config.mode === 'file') {
      replace(this.account, h('span', { class: 'mode' }, `File: ${this.config.file} (read-only)`));
      return;
    }
    replace(
      this.account,
      signedIn
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: () => {
                credentials.clear();
                this.notice = 'Signed out.';
                void this.render();
              },
            },
            'Sign out',
          )
        : null,
    );
  }

  private async route(ctx: ViewContext): Promise<View> {
    const { path, params } = currentRoute();
    if (path[0] === 'sessions' && path[1]) return sessionView(ctx, path[1]);
    if (path[0] === 'diff') return diffView(ctx, params);
    return sessionsView(ctx, params);
  }

  private async render(): Promise<void> {
    const generation = ++this.generation;
    this.view?.dispose?.();
    this.view = undefined;
    const signedIn = this.config.mode === 'file' || credentials.get() !== null;
    this.renderAccount(signedIn);
    if (!signedIn) {
      const notice = this.notice;
      this.notice = undefined;
      this.show(loginView(this.api, notice, () => void this.render()));
      return;
    }
    this.main.setAttribute('aria-busy', 'true');
    const view = await this.route(this.context());
    // A newer navigation happened while this page loaded: drop it.
    if (generation !== this.generation) {
      view.dispose?.();
      return;
    }
    this.show(view);
    this.main.removeAttribute('aria-busy');
    this.main.querySelector<HTMLElement>('h1')?.focus({ preventScroll: true });
  }

  private show(view: View): void {
    this.view = view;
    replace(this.main, view.element);
  }
}

void loadViewerConfig().then((config) => new App(config).start());

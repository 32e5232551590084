/**
 * The trace viewer at `/ui`: the static files `make build` bundles into `runtime/dist/ui/`
 * (index.html, app.js, app.css), served by @fastify/static in a context of their own with a strict
 * Content-Security-Policy. The files are open (they hold no data); everything the viewer shows
 * comes from the authenticated `/v1` API. Hidden from OpenAPI. When the files are missing (a
 * runtime started from sources before a build) `/ui` answers 503 naming the build command.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import { CraError } from '@cra/core';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const UI_PREFIX = '/ui';

/** runtime/dist/ui, from the compiled module (dist/plugins) and from the sources (src/plugins) alike. */
export const DEFAULT_UI_ROOT = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

export const UI_BUILD_COMMAND = 'make build (or npm run build)';

/** The files a build writes; all three must be there for the viewer to be served. */
export const UI_FILES = ['index.html', 'app.js', 'app.css'] as const;

/**
 * Scripts and styles from this origin only (no inline script, no eval), data from this origin's API
 * and its WebSocket, never framed. `ws:`/`wss:` are named because `'self'` did not cover WebSocket
 * URLs in every browser.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': UI_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/** What `/ui/config.json` tells the viewer: where its data comes from. */
export type ViewerConfig = { mode: 'runtime' } | { mode: 'file'; file: string; events: number; sessions: number };

export interface UiOptions {
  /** Directory of the built viewer; default runtime/dist/ui. */
  root?: string;
  /** Default `{ mode: 'runtime' }`: the API of this origin, with the key the user signs in with. */
  viewer?: ViewerConfig;
}

export function uiBuilt(root: string): boolean {
  return UI_FILES.every((file) => existsSync(join(root, file)));
}

function notBuilt(root: string): CraError {
  return new CraError(
    'SERVICE_UNAVAILABLE',
    `the trace viewer is not built (${root} has no ${UI_FILES.join(', ')}): run ${UI_BUILD_COMMAND}, then restart`,
  );
}

/** Registers `/ui` in a context of its own, so its headers apply to nothing else. */
export async function registerUi(app: FastifyInstance, options: UiOptions = {}): Promise<void> {
  const root = options.root ?? DEFAULT_UI_ROOT;
  const viewer: ViewerConfig = options.viewer ?? { mode: 'runtime' };
  await app.register(async (ui) => {
    ui.addHook('onSend', async (_request, reply: FastifyReply) => {
      reply.headers(SECURITY_HEADERS);
    });
    const hidden = { schema: { hide: true } };
    ui.get(UI_PREFIX, hidden, async (_request, reply) => reply.redirect(`${UI_PREFIX}/`));
    ui.get(`${UI_PREFIX}/config.json`, hidden, async (_request, reply) =>
      reply.header('cache-control', 'no-store').send(viewer),
    );
    if (!uiBuilt(root)) {
      const unavailable = async (): Promise<never> => {
        throw notBuilt(root);
      };
      ui.get(`${UI_PREFIX}/`, hidden, unavailable);
      ui.get(`${UI_PREFIX}/*`, hidden, unavailable);
      return;
    }
    await ui.register(fastifyStatic, {
      root,
      prefix: `${UI_PREFIX}/`,
      decorateReply: false,
      schemaHide: true,
      index: 'index.html',
      // Small files rebuilt in place: revalidate every time (ETag / Last-Modified make that a 304).
      cacheControl: false,
      setHeaders: (reply) => reply.header('cache-control', 'no-cache'),
    });
  });
}

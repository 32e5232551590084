/**
 * `cra trace visualize <file>`: the trace viewer for one TRACE file, on loopback, read-only and
 * without an API key. A small fastify app serves the built viewer (the same `/ui` as the runtime)
 * and the read routes the viewer calls — sessions, events, JSONL, verification — computed from
 * the file, in the runtime's shapes. Requests naming another Host are refused, so a web page
 * cannot read the file through DNS rebinding.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { CraError, toJsonl, verifyChain } from '@cra/core';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { registerErrorHandling } from '../plugins/errors.js';
import { registerUi, UI_PREFIX } from '../plugins/ui.js';
import type { TraceFile } from './trace-file.js';

export const LOOPBACK = '127.0.0.1';

export interface VisualizeOptions {
  port: number;
  /** Built viewer directory (tests); default runtime/dist/ui. */
  uiRoot?: string;
}

export interface Visualizer {
  /** The viewer's address, e.g. http://127.0.0.1:43123/ui/ */
  url: string;
  close(): Promise<void>;
}

const STATUSES = ['active', 'ended', 'error'];

function integer(value: unknown, fallback: number, min: number, max: number, name: string): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CraError('INVALID_REQUEST', `querystring/${name} must be an integer from ${min} to ${max}`, {
      details: { violations: [{ path: `/${name}`, message: `must be an integer from ${min} to ${max}` }] },
    });
  }
  return n;
}

function sessionOf(trace: TraceFile, request: FastifyRequest) {
  const sessionId = (request.params as { session_id: string }).session_id;
  const session = trace.session(sessionId);
  if (!session) throw new CraError('NOT_FOUND', `session ${sessionId} is not in ${trace.name}`);
  return session;
}

/** The read routes of the runtime's API that the viewer uses, answered from the file. */
function fileRoutes(app: FastifyInstance, trace: TraceFile): void {
  const hidden = { schema: { hide: true } };
  app.get('/v1/sessions', hidden, async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const limit = integer(q.limit, 50, 1, 500, 'limit');
    const offset = integer(q.offset, 0, 0, Number.MAX_SAFE_INTEGER, 'offset');
    if (q.status !== undefined && !STATUSES.includes(q.status)) {
      throw new CraError('INVALID_REQUEST', `querystring/status must be one of ${STATUSES.join(', ')}`);
    }
    const all = trace.sessions.filter((s) => q.status === undefined || s.status === q.status);
    const sessions = all.slice(offset, offset + limit);
    return { sessions, ...(offset + limit < all.length ? { next_offset: offset + limit } : {}) };
  });
  app.get('/v1/sessions/:session_id', hidden, async (request) => sessionOf(trace, request));
  app.get('/v1/traces/:session_id', hidden, async (request, reply) => {
    const session = sessionOf(trace, request);
    const q = request.query as Record<string, string | undefined>;
    const from = integer(q.from_sequence, 0, 0, Number.MAX_SAFE_INTEGER, 'from_sequence');
    const limit = integer(q.limit, 10_000, 1, 10_000, 'limit');
    const events = trace
      .eventsOf(session.session_id)
      .filter((e) => e.sequence >= from)
      .slice(0, limit);
    if (q.format === 'jsonl') {
      return reply
        .type('application/x-ndjson; charset=utf-8')
        .header('content-disposition', `attachment; filename="${session.session_id}.trace.jsonl"`)
        .send(toJsonl(events));
    }
    const last = events.at(-1);
    return { session_id: session.session_id, events, ...(last ? { next_sequence: last.sequence + 1 } : {}) };
  });
  app.get('/v1/traces/:session_id/verify', hidden, async (request) => {
    const session = sessionOf(trace, request);
    return { session_id: session.session_id, ...verifyChain(trace.eventsOf(session.session_id)) };
  });
}

/** Serves the viewer for `trace` on 127.0.0.1 until closed. */
export async function startVisualizer(trace: TraceFile, options: VisualizeOptions): Promise<Visualizer> {
  const app = Fastify({ logger: false });
  registerErrorHandling(app);
  let port = options.port;
  app.addHook('onRequest', async (request) => {
    const host = request.headers.host ?? '';
    if (![`${LOOPBACK}:${port}`, `localhost:${port}`].includes(host.toLowerCase())) {
      throw new CraError('FORBIDDEN', `Host "${host}" is not this viewer's address (${LOOPBACK}:${port})`);
    }
  });
  app.get('/', { schema: { hide: true } }, async (_request, reply) => reply.redirect(`${UI_PREFIX}/`));
  await registerUi(app, {
    ...(options.uiRoot !== undefined ? { root: options.uiRoot } : {}),
    viewer: { mode: 'file', file: trace.name, events: trace.events.length, sessions: trace.sessions.length },
  });
  fileRoutes(app, trace);
  await app.listen({ host: LOOPBACK, port: options.port });
  port = (app.server.address() as AddressInfo).port;
  return { url: `http://${LOOPBACK}:${port}${UI_PREFIX}/`, close: () => app.close() };
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/** The command that opens a URL in the desktop's browser, or undefined when there is none. */
export function browserOpener(platform: NodeJS.Platform = process.platform): [string, string[]] | undefined {
  if (platform === 'darwin') return ['open', []];
  if (platform === 'win32') return ['cmd', ['/c', 'start', '""']];
  const desktop = process.env.DISPLAY || process.env.WAYLAND_DISPLAY;
  return desktop && onPath('xdg-open') ? ['xdg-open', []] : undefined;
}

/** Tries to open `url` in a browser; true when an opener was started (it may still fail quietly). */
export function openBrowser(url: string): boolean {
  const opener = browserOpener();
  if (!opener) return false;
  try {
    const child = spawn(opener[0], [...opener[1], url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
    return true;
  } catch {
    return false;
  }
}

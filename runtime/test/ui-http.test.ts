/**
 * The trace viewer's HTTP side: `/ui` serves the built files (from a directory the test writes)
 * openly, with a strict Content-Security-Policy, the right content types and no OpenAPI entry;
 * a runtime without a build answers 503 naming the build command; `ui.enabled: false` serves
 * nothing. And the API the viewer lists sessions with: an agent sees its own sessions, auditors
 * and admins every session, newest first, a page at a time.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomIds, type Role } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UI_CONTENT_SECURITY_POLICY } from '../src/plugins/ui.js';
import type { Runtime } from '../src/runtime.js';
import { identityFiles } from './helpers/identities.js';
import { resolveRequest, testRuntime } from './helpers/runtime.js';

const INDEX = '<!doctype html><html lang="en"><head><title>CRA trace viewer</title></head><body></body></html>\n';

/** A directory laid out like a build of runtime/dist/ui. */
async function builtUi(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cra-ui-'));
  await writeFile(join(dir, 'index.html'), INDEX);
  await writeFile(join(dir, 'app.js'), 'console.log("viewer");\n');
  await writeFile(join(dir, 'app.css'), 'body { color: black; }\n');
  return dir;
}

function expectViewerHeaders(headers: Record<string, unknown>): void {
  expect(headers['content-security-policy']).toBe(UI_CONTENT_SECURITY_POLICY);
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['x-frame-options']).toBe('DENY');
  expect(headers['referrer-policy']).toBe('no-referrer');
}

describe('/ui with a built viewer', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await testRuntime({}, { uiRoot: await builtUi() });
  });
  afterAll(async () => rt?.close());

  it('serves index.html at /ui/ without credentials, with a CSP that allows no inline script', async () => {
    const res = await rt.app.inject({ method: 'GET', url: '/ui/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toBe(INDEX);
    expectViewerHeaders(res.headers);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self' ws: wss:");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
  });

  it('redirects /ui to /ui/ (the page loads its files relative to it)', async () => {
    const res = await rt.app.inject({ method: 'GET', url: '/ui' });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/ui/');
  });

  it('serves the script and the stylesheet with their content types, revalidated on every load', async () => {
    const js = await rt.app.inject({ method: 'GET', url: '/ui/app.js' });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toMatch(/^(text|application)\/javascript/);
    expect(js.headers['cache-control']).toBe('no-cache');
    expectViewerHeaders(js.headers);
    const css = await rt.app.inject({ method: 'GET', url: '/ui/app.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
  });

  it('tells the viewer it reads this runtime (config.json)', async () => {
    const res = await rt.app.inject({ method: 'GET', url: '/ui/config.json' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ mode: 'runtime' });
    expectViewerHeaders(res.headers);
  });

  it('answers a file that is not there with 404 (and the same headers), never a directory listing', async () => {
    const missing = await rt.app.inject({ method: 'GET', url: '/ui/nope.js' });
    expect(missing.statusCode).toBe(404);
    const escape = await rt.app.inject({ method: 'GET', url: '/ui/../package.json' });
    expect(escape.statusCode).toBe(404);
  });

  it('keeps /ui out of the OpenAPI document', async () => {
    const doc = (await rt.app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: object }>();
    expect(Object.keys(doc.paths).filter((p) => p.startsWith('/ui'))).toEqual([]);
  });

  it('leaves the API authenticated: the viewer’s data calls need a key', async () => {
    const res = await rt.app.inject({ method: 'GET', url: '/v1/sessions' });
    expect(res.statusCode).toBe(401);
  });
});

describe('/ui without a build', () => {
  it('answers 503 naming the build command, for the page and its files, and the process keeps serving', async () => {
    const rt = await testRuntime({}, { uiRoot: await mkdtemp(join(tmpdir(), 'cra-ui-empty-')) });
    try {
      for (const url of ['/ui/', '/ui/app.js']) {
        const res = await rt.app.inject({ method: 'GET', url });
        expect(res.statusCode, url).toBe(503);
        expectViewerHeaders(res.headers);
        const body = res.json<{ error: { code: string; message: string } }>();
        expect(body.error.code).toBe('SERVICE_UNAVAILABLE');
        expect(body.error.message).toContain('the trace viewer is not built');
        expect(body.error.message).toContain('make build');
      }
      expect((await rt.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await rt.close();
    }
  });
});

describe('ui.enabled: false', () => {
  it('serves nothing at /ui', async () => {
    const rt = await testRuntime({ 'ui.enabled': false }, { uiRoot: await builtUi() });
    try {
      expect((await rt.app.inject({ method: 'GET', url: '/ui/' })).statusCode).toBe(404);
      expect((await rt.app.inject({ method: 'GET', url: '/ui/config.json' })).statusCode).toBe(404);
    } finally {
      await rt.close();
    }
  });
});

// ---- GET /v1/sessions: what the viewer lists -------------------------------------------------

const PEOPLE: Record<string, Role[]> = {
  'agent-a': ['agent'],
  'agent-b': ['agent'],
  auditor: ['auditor'],
  admin: ['agent', 'admin'],
};
const keyOf = (agentId: string): string => `${agentId}-viewer-key-0123456789`;

interface SessionPage {
  sessions: { session_id: string; agent_id: string; status: string; event_count: number }[];
  next_offset?: number;
}

describe('GET /v1/sessions', () => {
  let rt: Runtime;
  const own: Record<string, string[]> = { 'agent-a': [], 'agent-b': [] };

  const list = async (agentId: string, query = ''): Promise<SessionPage> => {
    const res = await rt.app.inject({
      method: 'GET',
      url: `/v1/sessions${query}`,
      headers: { authorization: `Bearer ${keyOf(agentId)}` },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json<SessionPage>();
  };

  beforeAll(async () => {
    const files = await identityFiles(
      Object.entries(PEOPLE).map(([agentId, roles]) => ({ agentId, roles, apiKey: keyOf(agentId) })),
    );
    rt = await testRuntime({ identities: [files.file], secretsDir: files.secretsDir });
    for (const [agent, count] of [
      ['agent-a', 3],
      ['agent-b', 2],
    ] as const) {
      for (let i = 0; i < count; i++) {
        const session = randomIds.uuid();
        const res = await rt.app.inject({
          method: 'POST',
          url: '/v1/resolve',
          headers: { authorization: `Bearer ${keyOf(agent)}` },
          payload: resolveRequest({ agent, session, hints: ['github.issues'] }),
        });
        expect(res.statusCode, res.body).toBe(200);
        own[agent]!.push(session);
      }
    }
    // One ended session, for the status filter.
    const ended = await rt.app.inject({
      method: 'DELETE',
      url: `/v1/sessions/${own['agent-a']![0]}`,
      headers: { authorization: `Bearer ${keyOf('agent-a')}` },
    });
    expect(ended.statusCode, ended.body).toBe(200);
  });
  afterAll(async () => rt?.close());

  it('shows an agent its own sessions only, newest first', async () => {
    const a = await list('agent-a');
    expect(a.sessions.map((s) => s.session_id)).toEqual([...own['agent-a']!].reverse());
    expect(new Set(a.sessions.map((s) => s.agent_id))).toEqual(new Set(['agent-a']));
    expect(a.next_offset).toBeUndefined();
    const b = await list('agent-b');
    expect(b.sessions.map((s) => s.session_id).sort()).toEqual([...own['agent-b']!].sort());
  });

  it('shows auditors and admins every session (the runtime’s own system session included)', async () => {
    for (const who of ['auditor', 'admin']) {
      const ids = (await list(who)).sessions.map((s) => s.session_id);
      for (const id of [...own['agent-a']!, ...own['agent-b']!]) expect(ids, who).toContain(id);
      expect(ids.length, who).toBe(6);
    }
  });

  it('pages with limit and offset, telling where the next page starts', async () => {
    const first = await list('admin', '?limit=4');
    expect(first.sessions).toHaveLength(4);
    expect(first.next_offset).toBe(4);
    const second = await list('admin', `?limit=4&offset=${first.next_offset}`);
    expect(second.sessions).toHaveLength(2);
    expect(second.next_offset).toBeUndefined();
    const all = [...first.sessions, ...second.sessions].map((s) => s.session_id);
    expect(new Set(all).size).toBe(6);
  });

  it('filters by status', async () => {
    const ended = await list('agent-a', '?status=ended');
    expect(ended.sessions.map((s) => s.session_id)).toEqual([own['agent-a']![0]]);
    const active = await list('agent-a', '?status=active');
    expect(active.sessions.map((s) => s.session_id).sort()).toEqual(own['agent-a']!.slice(1).sort());
  });

  it('refuses a call without a key (401) and a bad page size (400 naming the member)', async () => {
    expect((await rt.app.inject({ method: 'GET', url: '/v1/sessions' })).statusCode).toBe(401);
    const bad = await rt.app.inject({
      method: 'GET',
      url: '/v1/sessions?limit=0',
      headers: { authorization: `Bearer ${keyOf('agent-a')}` },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('/limit');
  });
});

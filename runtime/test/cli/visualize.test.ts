/**
 * `cra trace visualize <file>`: serves the trace viewer for a JSONL file on loopback without a
 * key — the viewer's files and the read API it calls, answered from the file — prints the URL,
 * refuses other Host names, and exits 0 on SIGINT. Bad files and busy ports exit 1 with a message.
 */
import { writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import { randomIds, toJsonl, type TraceEvent } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { UI_CONTENT_SECURITY_POLICY } from '../../src/plugins/ui.js';
import { auth, resolveRequest, testRuntime } from '../helpers/runtime.js';
import { assertBuilt, cra, freePort, removeTempDirs, startCra, tempDir } from './helpers.js';

// Every test spawns the CLI (a Node process); a loaded machine makes that slow, never wrong.
vi.setConfig({ testTimeout: 90_000 });

let dir: string;
let file: string;
let events: TraceEvent[];
let sessionId: string;

beforeAll(async () => {
  assertBuilt();
  dir = await tempDir();
  // A real session: two resolves recorded by an in-process runtime, exported as JSONL.
  const rt = await testRuntime();
  sessionId = randomIds.uuid();
  for (const goal of ['Open an issue about the login crash', 'Close the duplicate issue']) {
    const res = await rt.app.inject({
      method: 'POST',
      url: '/v1/resolve',
      headers: auth(),
      payload: resolveRequest({ session: sessionId, goal, hints: ['github.issues'] }),
    });
    expect(res.statusCode, res.body).toBe(200);
  }
  events = (await rt.app.inject({ method: 'GET', url: `/v1/traces/${sessionId}`, headers: auth() })).json<{
    events: TraceEvent[];
  }>().events;
  await rt.close();
  file = join(dir, 'session.jsonl');
  await writeFile(file, toJsonl(events));
});
afterAll(removeTempDirs);

describe('cra trace visualize', () => {
  it('serves the viewer and the file’s events on loopback, then exits 0 on SIGINT', async () => {
    const run = startCra(['trace', 'visualize', file, '--no-open']);
    try {
      const url = await run.firstLine;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ui\/$/);
      const base = url.replace(/\/ui\/$/, '');

      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.headers.get('content-security-policy')).toBe(UI_CONTENT_SECURITY_POLICY);
      expect(await page.text()).toContain('<script type="module" src="app.js"></script>');
      expect(await (await fetch(`${url}config.json`)).json()).toEqual({
        mode: 'file',
        file: 'session.jsonl',
        events: events.length,
        sessions: 1,
      });

      // No key needed: the file is the user's own.
      const sessions = await (await fetch(`${base}/v1/sessions`)).json();
      expect(sessions).toEqual({
        sessions: [
          expect.objectContaining({
            session_id: sessionId,
            agent_id: 'dev-agent',
            status: 'active',
            event_count: events.length,
            started_at: events[0]!.timestamp,
            head: { sequence: events.at(-1)!.sequence, event_hash: events.at(-1)!.event_hash },
          }),
        ],
      });
      const trace = await (await fetch(`${base}/v1/traces/${sessionId}`)).json();
      expect(trace).toEqual({ session_id: sessionId, events, next_sequence: events.length });
      const page2 = (await (await fetch(`${base}/v1/traces/${sessionId}?from_sequence=5&limit=3`)).json()) as {
        events: TraceEvent[];
      };
      expect(page2.events).toEqual(events.slice(5, 8));
      const jsonl = await fetch(`${base}/v1/traces/${sessionId}?format=jsonl`);
      expect(await jsonl.text()).toBe(toJsonl(events));
      const verify = await (await fetch(`${base}/v1/traces/${sessionId}/verify`)).json();
      expect(verify).toMatchObject({ session_id: sessionId, valid: true, event_count: events.length });
      const unknown = await fetch(`${base}/v1/sessions/${randomIds.uuid()}`);
      expect(unknown.status).toBe(404);

      // A page on another origin that resolves to 127.0.0.1 (DNS rebinding) is refused.
      const port = new URL(url).port;
      const rebound = await new Promise<number>((resolve, reject) => {
        get({ host: '127.0.0.1', port, path: '/v1/sessions', headers: { host: `attacker.example:${port}` } }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        }).on('error', reject);
      });
      expect(rebound).toBe(403);
      expect(run.stderr()).toContain(`(${events.length} event(s), 1 session(s)), read-only on loopback`);
    } finally {
      run.kill('SIGINT');
    }
    const result = await run.exited;
    expect(result.code, result.stderr).toBe(0);
  });

  it('listens on --port and reports a tampered chain as invalid', async () => {
    const tampered = structuredClone(events);
    tampered[2]!.payload = { ...tampered[2]!.payload, edited: true };
    const edited = join(dir, 'tampered.jsonl');
    await writeFile(edited, toJsonl(tampered));
    const port = await freePort();
    const run = startCra(['trace', 'visualize', edited, '--port', String(port), '--no-open']);
    try {
      expect(await run.firstLine).toBe(`http://127.0.0.1:${port}/ui/`);
      const verify = await (await fetch(`http://127.0.0.1:${port}/v1/traces/${sessionId}/verify`)).json();
      expect(verify).toMatchObject({ valid: false, first_failure: { index: 2, error: 'hash_mismatch' } });
    } finally {
      run.kill('SIGTERM');
    }
    expect((await run.exited).code).toBe(0);
  });

  it('reads a JSON array of events as well (cra trace export --format json)', async () => {
    const json = join(dir, 'session.json');
    await writeFile(json, JSON.stringify(events));
    const run = startCra(['trace', 'visualize', json, '--no-open']);
    try {
      const base = (await run.firstLine).replace(/\/ui\/$/, '');
      const body = (await (await fetch(`${base}/v1/traces/${sessionId}`)).json()) as { events: TraceEvent[] };
      expect(body.events).toEqual(events);
    } finally {
      run.kill('SIGINT');
    }
    expect((await run.exited).code).toBe(0);
  });

  it('a file that is not a trace, a missing file and a busy port exit 1 with a message', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, `${JSON.stringify(events[0])}\nnot json\n`);
    const notTrace = await cra(['trace', 'visualize', bad, '--no-open']);
    expect(notTrace.code).toBe(1);
    expect(notTrace.stderr).toContain('JSONL line 2: not valid JSON');

    const missing = await cra(['trace', 'visualize', join(dir, 'nope.jsonl'), '--no-open']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.jsonl: cannot read \(.*ENOENT/);

    const first = startCra(['trace', 'visualize', file, '--no-open']);
    try {
      const port = new URL(await first.firstLine).port;
      const busy = await cra(['trace', 'visualize', file, '--port', port, '--no-open']);
      expect(busy.code).toBe(1);
      expect(busy.stderr).toContain(`cannot serve the viewer on 127.0.0.1:${port}`);
      expect(busy.stderr).not.toMatch(/\n\s+at /);
    } finally {
      first.kill('SIGINT');
    }
    await first.exited;
  });
});

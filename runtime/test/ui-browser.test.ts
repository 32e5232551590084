/**
 * The trace viewer in a real browser: Debian's chromium driven by playwright-core (no browser
 * download), against a runtime listening on loopback with data made through its HTTP API — a
 * resolve and an execute that really calls a stand-in GitHub API. Signs in, lists the session,
 * reads its timeline, filters, opens the span tree and an event, verifies the chain, receives a
 * live event over the WebSocket, compares two sessions, and shows a tampered chain as invalid.
 * The same viewer then reads a JSONL file served by `cra trace visualize`'s server. Screenshots
 * go to runtime/test/artifacts/ (git-ignored).
 *
 * Skipped when /usr/bin/chromium is missing, unless CRA_REQUIRE_BROWSER=1 (scripts/test.sh),
 * when its absence fails the suite.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { diffTraces, randomIds, toJsonl, type CARPResolution, type TraceEvent } from '@cra/core';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { TraceFile, parseTraceText } from '../src/cli/trace-file.js';
import { startVisualizer, type Visualizer } from '../src/cli/visualize.js';
import { DEFAULT_UI_ROOT, uiBuilt } from '../src/plugins/ui.js';
import type { Runtime } from '../src/runtime.js';
import type { Stores, TraceStore } from '../src/store/ports.js';
import { startFakeApi, type FakeApi } from './helpers/fake-api.js';
import { memoryStores } from './helpers/pglite-template.js';
import { executeRequest, KEYS, repo, resolveRequest, testRuntime } from './helpers/runtime.js';

const CHROMIUM = process.env.CRA_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRED = process.env.CRA_REQUIRE_BROWSER === '1';
const HAVE_BROWSER = existsSync(CHROMIUM);
const ARTIFACTS = repo('runtime/test/artifacts');

if (REQUIRED && !HAVE_BROWSER) {
  throw new Error(`CRA_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing: run scripts/install-test-deps.sh`);
}

// A browser, a runtime and a stand-in API per suite: slow on a loaded machine, never wrong.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 120_000 });

/** Stores whose trace reads can be made to return a tampered event (as if someone edited the database). */
async function tamperableStores(): Promise<{ stores: Stores; tamper(sessionId: string): void }> {
  const base = await memoryStores();
  const tampered = new Set<string>();
  const read: TraceStore['read'] = async (sessionId, options) => {
    const events = await base.traces.read(sessionId, options);
    if (!tampered.has(sessionId)) return events;
    return events.map((e) => (e.sequence === 3 ? { ...e, payload: { ...e.payload, tampered: true } } : e));
  };
  const traces = new Proxy(base.traces, {
    get(target, prop) {
      if (prop === 'read') return read;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { stores: { ...base, traces }, tamper: (id) => tampered.add(id) };
}

describe.skipIf(!HAVE_BROWSER)('the trace viewer in chromium', () => {
  let github: FakeApi;
  let rt: Runtime;
  let url: string;
  let browser: Browser;
  let page: Page;
  let tamper: (sessionId: string) => void;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  /** Session with a resolve and an execute (two spans, the execute's nested under the resolve's). */
  let main: string;
  /** Session with a resolve only. */
  let other: string;
  let resolveSpan: string;
  let executeSpan: string;

  const api = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${KEYS.agent}`, 'content-type': 'application/json', ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    expect(res.status, `${method} ${path}`).toBeLessThan(300);
    return (await res.json()) as T;
  };
  const events = async (sessionId: string): Promise<TraceEvent[]> =>
    (await api<{ events: TraceEvent[] }>('GET', `/v1/traces/${sessionId}`)).events;
  const rows = (p: Page = page) => p.locator('.timeline tbody tr');

  beforeAll(async () => {
    if (!uiBuilt(DEFAULT_UI_ROOT)) {
      throw new Error(`${DEFAULT_UI_ROOT} has no built viewer: run "make build" (or "npm run build") first`);
    }
    github = await startFakeApi((req) => ({ status: 201, body: { number: 42, url: req.url } }));
    const tamperable = await tamperableStores();
    tamper = tamperable.tamper;
    rt = await testRuntime({}, { stores: tamperable.stores, env: { GITHUB_API_URL: github.url } });
    url = await rt.app.listen({ port: 0, host: '127.0.0.1' });

    // The agent calls with a W3C traceparent: its resolve span's parent is the agent's own span
    // (not in TRACE), and it executes inside the resolve's span, so the execute span nests under it.
    const traceId = randomIds.traceId();
    main = randomIds.uuid();
    const resolution = await api<CARPResolution>(
      'POST',
      '/v1/resolve',
      resolveRequest({ session: main, hints: ['github.issues'], goal: 'Open an issue; mail bob@example.com' }),
      { traceparent: `00-${traceId}-${randomIds.spanId()}-01` },
    );
    resolveSpan = (await events(main)).at(-1)!.span_id;
    await api(
      'POST',
      '/v1/execute',
      executeRequest(resolution, 'api.github.create_issue', { owner: 'acme', repo: 'app', title: 'Crash' }),
      {
        traceparent: `00-${traceId}-${resolveSpan}-01`,
      },
    );
    executeSpan = (await events(main)).at(-1)!.span_id;
    expect(github.seen).toHaveLength(1);
    other = randomIds.uuid();
    await api('POST', '/v1/resolve', resolveRequest({ session: other, hints: ['github.issues'] }));

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await mkdir(ARTIFACTS, { recursive: true });
  });

  afterAll(async () => {
    await browser?.close();
    await rt?.close();
    await github?.close();
  });

  it('asks for an API key, refuses a wrong one and lists the agent’s sessions with the right one', async () => {
    await page.goto(`${url}/ui/`);
    await page.getByLabel('API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('#login-error').textContent()).toContain('refused');
    await page.getByLabel('API key').fill(KEYS.agent);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('.sessions-table').waitFor();
    const listed = await page
      .locator('.sessions-table tbody tr')
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-session-id')));
    expect(listed.sort()).toEqual([main, other].sort()); // not the runtime's system session
    await page.screenshot({ path: `${ARTIFACTS}/trace-viewer-sessions.png` });
  });

  it('shows the session’s events on a timeline', async () => {
    const all = await events(main);
    await page.locator(`a[href="#/sessions/${main}"]`).click();
    await page.locator('.verification[data-state="done"]').waitFor();
    expect(await rows().count()).toBe(all.length);
    const types = await page.locator('.timeline tbody tr .type button').allTextContents();
    expect(types).toEqual(all.map((e) => e.event_type));
    expect(await page.locator('.count').textContent()).toBe(`${all.length} events`);
  });

  it('verifies the chain: valid, with the event count and head', async () => {
    const all = await events(main);
    const verdict = page.locator('.verification');
    await expect.poll(() => verdict.getAttribute('data-valid')).toBe('true');
    expect(await verdict.textContent()).toContain(`Chain valid: ${all.length} event(s), head #${all.at(-1)!.sequence}`);
  });

  it('narrows the list with the type, severity and text filters', async () => {
    const all = await events(main);
    await page.getByLabel('Event type').fill('carp.policy');
    const policy = all.filter((e) => e.event_type.startsWith('carp.policy'));
    expect(policy.length).toBeGreaterThan(0);
    await expect.poll(() => rows().count()).toBe(policy.length);
    expect(await page.locator('.count').textContent()).toBe(`Showing ${policy.length} of ${all.length} events`);
    await page.getByLabel('Event type').fill('*.completed');
    await expect.poll(() => rows().count()).toBe(all.filter((e) => e.event_type.endsWith('.completed')).length);
    await page.getByLabel('Event type').fill('');
    await page.getByLabel('Search').fill('EMAIL_REDACTED');
    const redacted = all.filter((e) => JSON.stringify(e.payload).includes('EMAIL_REDACTED'));
    await expect.poll(() => rows().count()).toBe(redacted.length);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Severity').selectOption('warn');
    await expect
      .poll(() => rows().count())
      .toBe(all.filter((e) => e.severity === 'warn' || e.severity === 'error').length);
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => rows().count()).toBe(all.length);
  });

  it('opens an event: payload, hashes, chain linkage and what was redacted', async () => {
    const received = (await events(main)).find((e) => e.event_type === 'carp.request.received')!;
    await page.locator(`.timeline tr[data-sequence="${received.sequence}"] .type button`).click();
    const detail = page.locator('.detail');
    await expect.poll(() => detail.getAttribute('data-sequence')).toBe(String(received.sequence));
    const text = (await detail.textContent()) ?? '';
    expect(text).toContain(received.event_hash);
    expect(text).toContain(received.previous_event_hash);
    expect(text).toContain(`the hash of event #${received.sequence - 1} ✓`);
    expect(text).toContain('Redactions (1)');
    expect(await detail.locator('table.redactions tbody tr').allTextContents()).toEqual(['emailpayload.goalpattern']);
    expect(await detail.locator('pre.payload').textContent()).toBe(JSON.stringify(received.payload, null, 2));
    await page.screenshot({ path: `${ARTIFACTS}/trace-viewer-timeline.png`, fullPage: true });
  });

  it('shows the span hierarchy: the execute span nested under the resolve span', async () => {
    await page.getByRole('tab', { name: 'Spans' }).click();
    const root = page.locator(`li.span[data-span-id="${resolveSpan}"]`);
    await root.waitFor();
    expect(await root.getAttribute('data-depth')).toBe('0');
    const child = root.locator(`li.span[data-span-id="${executeSpan}"]`);
    expect(await child.getAttribute('data-depth')).toBe('1');
    expect(await root.locator('> details > summary').textContent()).toContain('(not in this trace)');
    expect(await child.locator('> details > summary .span-name').textContent()).toBe('execute');
    const childEvents = (await events(main)).filter((e) => e.span_id === executeSpan);
    expect(await child.locator('.span-events li').count()).toBe(childEvents.length);
    await page.screenshot({ path: `${ARTIFACTS}/trace-viewer-spans.png`, fullPage: true });
    await page.getByRole('tab', { name: 'Timeline' }).click();
  });

  it('receives new events live over the WebSocket', async () => {
    await page.locator('.live-status[data-state="live"]').waitFor();
    const before = await rows().count();
    await api('POST', '/v1/resolve', resolveRequest({ session: main, hints: ['github.issues'], goal: 'Close it' }));
    const after = await events(main);
    expect(after.length).toBeGreaterThan(before);
    await rows()
      .nth(after.length - 1)
      .waitFor();
    expect(await rows().count()).toBe(after.length);
    expect(await page.locator('.event-count').textContent()).toBe(String(after.length));
    // The page verifies again once the live events stop.
    await expect
      .poll(() => page.locator('.verification').textContent(), { timeout: 20_000 })
      .toContain(`Chain valid: ${after.length} event(s)`);
  });

  it('compares two sessions with core’s diff and lists the differences', async () => {
    const [a, b] = [await events(main), await events(other)];
    const expected = diffTraces(a, b);
    await page.getByRole('link', { name: 'Compare with…' }).click();
    await page.locator('#session-b').selectOption(other);
    expect(await page.locator('#session-a').inputValue()).toBe(main);
    await page.getByRole('button', { name: 'Compare' }).click();
    const result = page.locator('.diff-result');
    await result.waitFor();
    expect(await result.getAttribute('data-compatibility')).toBe(expected.compatibility);
    expect(expected.compatibility).toBe('breaking'); // the execute and second resolve are missing from B
    expect(await result.locator('table.differences tbody tr').count()).toBe(expected.differences.length);
    await page.screenshot({ path: `${ARTIFACTS}/trace-viewer-diff.png`, fullPage: true });
  });

  it('compares two JSONL files picked from disk', async () => {
    const a = toJsonl(await events(other));
    await page
      .locator('#file-a')
      .setInputFiles({ name: 'a.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(a) });
    await page
      .locator('#file-b')
      .setInputFiles({ name: 'b.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(a) });
    await page.getByRole('button', { name: 'Compare' }).click();
    await expect.poll(() => page.locator('.diff-result').getAttribute('data-compatibility')).toBe('identical');
    await page
      .locator('#file-b')
      .setInputFiles({ name: 'bad.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from('{nope\n') });
    await page.getByRole('button', { name: 'Compare' }).click();
    await expect.poll(() => page.locator('.diff-output [role="alert"]').textContent()).toContain('JSONL line 1');
  });

  it('shows a tampered chain as invalid and marks where it breaks', async () => {
    tamper(other);
    await page.goto(`${url}/ui/#/sessions/${other}`);
    const verdict = page.locator('.verification');
    await expect.poll(() => verdict.getAttribute('data-valid')).toBe('false');
    expect(await verdict.textContent()).toMatch(
      /Chain invalid at event index 3 \(sequence 3, [a-z.]+\): hash_mismatch/,
    );
    const broken = page.locator('.timeline tr.broken');
    expect(await broken.getAttribute('data-sequence')).toBe('3');
    expect(await broken.textContent()).toContain('chain breaks here');
    await page.screenshot({ path: `${ARTIFACTS}/trace-viewer-tampered.png`, fullPage: true });
  });

  it('signs out: the key is forgotten and the sign-in box is back', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('ran under the CSP without a violation or a script error', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  describe('a JSONL file served by cra trace visualize', () => {
    let viewer: Visualizer;
    let filePage: Page;

    beforeAll(async () => {
      const text = toJsonl(await events(main));
      viewer = await startVisualizer(new TraceFile('session.jsonl', parseTraceText(text, 'session.jsonl')), {
        port: 0,
      });
      filePage = await browser.newPage({ viewport: { width: 1400, height: 950 } });
    });
    afterAll(async () => {
      await filePage?.close();
      await viewer?.close();
    });

    it('needs no key, lists the file’s session and verifies it', async () => {
      await filePage.goto(viewer.url);
      await filePage.locator('.sessions-table').waitFor();
      expect(await filePage.locator('.account').textContent()).toContain('File: session.jsonl (read-only)');
      await filePage.locator(`a[href="#/sessions/${main}"]`).click();
      await expect.poll(() => filePage.locator('.verification').getAttribute('data-valid')).toBe('true');
      expect(await rows(filePage).count()).toBe((await events(main)).length);
      expect(await filePage.locator('#live-toggle').count()).toBe(0); // a file does not grow
      await filePage.screenshot({ path: `${ARTIFACTS}/trace-viewer-file.png`, fullPage: true });
    });
  });
});

/**
 * WebSocket /v1/trace against a real listening runtime with real `ws` clients (and injectWS):
 * authentication on the upgrade, own-session and every-session subscriptions, filters, resume
 * with no gap or duplicate at the seam, heartbeats, slow consumers, shutdown, bad messages.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomIds, type CARPResolution, type TraceEvent } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Runtime } from '../src/runtime.js';
import type { ReadEventsOptions } from '../src/store/ports.js';
import type { DropReason } from '../src/ws/trace-connection.js';
import { memoryStores } from './helpers/pglite-template.js';
import { auth, KEYS, repo, resolveRequest, testRuntime } from './helpers/runtime.js';
import { secretsDir } from './helpers/secrets.js';

const AUDITOR_KEY = 'test-auditor-key';
const OTHER_KEY = 'test-other-agent-key';

let rt: Runtime;
let base: string;
let wsUrl: string;
/** Gates on reads of one session's stored events, to hold a replay at a chosen point. */
const readControl: {
  session?: string;
  before?: Promise<void>;
  after?: Promise<void>;
  reading?: () => void;
} = {};

async function extraIdentities(): Promise<{ file: string; secrets: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'cra-ws-identities-'));
  const identity = (name: string, roles: string[]) =>
    [
      'apiVersion: cra.dev/v1alpha1',
      'kind: AgentIdentity',
      `metadata: { name: ${name} }`,
      'spec:',
      `  agentId: ${name}`,
      `  roles: [${roles.join(', ')}]`,
      `  auth: { apiKeySecretRef: { name: cra-${name}, key: digest } }`,
    ].join('\n');
  const file = join(dir, 'identities.yaml');
  await writeFile(file, `${identity('test-auditor', ['auditor'])}\n---\n${identity('other-agent', ['agent'])}\n`);
  const digest = (key: string) => createHash('sha256').update(key).digest('hex');
  const secrets = await secretsDir({
    'cra-test-auditor': { digest: digest(AUDITOR_KEY) },
    'cra-other-agent': { digest: digest(OTHER_KEY) },
  });
  return { file, secrets };
}

async function startRuntime(overrides: Record<string, unknown>): Promise<{ rt: Runtime; base: string }> {
  const extra = await extraIdentities();
  const stores = await memoryStores();
  const read = stores.traces.read.bind(stores.traces);
  stores.traces.read = async (sessionId: string, options?: ReadEventsOptions) => {
    if (sessionId !== readControl.session) return read(sessionId, options);
    const { before, after, reading } = readControl;
    readControl.before = readControl.after = undefined;
    reading?.();
    if (before) await before;
    const events = await read(sessionId, options);
    if (after) await after;
    return events;
  };
  const runtime = await testRuntime(
    {
      identities: [repo('examples/local/identities.yaml'), extra.file],
      secretsDir: extra.secrets,
      'load.maxEventLoopDelayMs': 0,
      ...overrides,
    },
    { stores },
  );
  return { rt: runtime, base: await runtime.app.listen({ port: 0, host: '127.0.0.1' }) };
}

beforeAll(async () => {
  ({ rt, base } = await startRuntime({ 'stream.heartbeatMs': 600_000, 'stream.maxBufferedBytes': 262_144 }));
  wsUrl = `${base.replace(/^http/, 'ws')}/v1/trace`;
});
afterAll(async () => rt.close());

interface Frame {
  type: string;
  subscription?: string;
  event?: TraceEvent;
  code?: string;
  message?: string;
  timestamp?: string;
  details?: { violations?: { path: string }[] };
}

const REPLIES = new Set(['subscribed', 'unsubscribed', 'error', 'pong']);

class Client {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private readonly listeners = new Set<() => void>();

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as Frame);
      for (const listener of [...this.listeners]) listener();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const listener of [...this.listeners]) listener();
      }),
    );
  }

  static async open(key: string | undefined = KEYS.agent, protocols: string[] = ['cra.trace.v1'], url = wsUrl) {
    const ws = new WebSocket(url, protocols, { headers: key ? auth(key) : {} });
    const client = new Client(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** The first frame (from index `from`) that satisfies `pred`, waiting for it if needed. */
  waitFor(pred: (f: Frame) => boolean, what: string, from = 0): Promise<Frame> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.frames.slice(from).find(pred);
        if (found) {
          this.listeners.delete(check);
          resolve(found);
        } else if (this.ws.readyState === WebSocket.CLOSED) {
          this.listeners.delete(check);
          reject(new Error(`connection closed before ${what}`));
        }
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Sends a message and waits for its reply (replies come in the order of the messages). */
  async request(message: unknown): Promise<Frame> {
    const from = this.frames.length;
    this.send(message);
    return this.waitFor((f) => REPLIES.has(f.type), `a reply to ${JSON.stringify(message)}`, from);
  }

  async subscribe(message: Record<string, unknown>): Promise<string> {
    const reply = await this.request({ type: 'subscribe', ...message });
    expect(reply, JSON.stringify(reply)).toMatchObject({ type: 'subscribed' });
    return reply.subscription!;
  }

  events(subscription: string): TraceEvent[] {
    return this.frames.filter((f) => f.type === 'event' && f.subscription === subscription).map((f) => f.event!);
  }

  waitForEvent(subscription: string, pred: (e: TraceEvent) => boolean, what: string): Promise<TraceEvent> {
    return this.waitFor((f) => f.type === 'event' && f.subscription === subscription && pred(f.event!), what).then(
      (f) => f.event!,
    );
  }

  async close(): Promise<void> {
    this.ws.close();
    await this.closed;
  }
}

async function resolveVia(body: Record<string, unknown>, key: string = KEYS.agent): Promise<Response> {
  return fetch(`${base}/v1/resolve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...auth(key) },
    body: JSON.stringify(body),
  });
}

async function resolve(session: string, goal = `Triage issue ${randomIds.uuid()}`): Promise<CARPResolution> {
  const res = await resolveVia(resolveRequest({ session, goal, risk: 'medium', hints: ['github.issues'] }));
  expect(res.status).toBe(200);
  return (await res.json()) as CARPResolution;
}

async function storedEvents(session: string, fromSequence = 0): Promise<TraceEvent[]> {
  const res = await fetch(`${base}/v1/traces/${session}?from_sequence=${fromSequence}`, { headers: auth() });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: TraceEvent[] }).events;
}

const completes = (r: CARPResolution) => (e: TraceEvent) =>
  e.event_type === 'carp.resolution.completed' && e.payload.resolution_id === r.resolution_id;

const sequences = (events: TraceEvent[]) => events.map((e) => e.sequence);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function upgradeRefusal(headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, ['cra.trace.v1'], { headers });
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
  });
}

const base64url = (text: string) => Buffer.from(text).toString('base64url');

describe('WebSocket /v1/trace: authentication', () => {
  it('refuses an upgrade without credentials, or with a wrong key, with a 401 CARPError', async () => {
    const none = await upgradeRefusal({});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    const wrong = await upgradeRefusal(auth('not-a-key'));
    expect(wrong.status).toBe(401);
  });

  it('accepts the credential as a `cra.bearer.<base64url>` subprotocol and selects cra.trace.v1', async () => {
    const client = await Client.open(undefined, ['cra.trace.v1', `cra.bearer.${base64url(KEYS.agent)}`]);
    expect(client.ws.protocol).toBe('cra.trace.v1');
    expect(await client.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    await client.close();
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(wsUrl, ['cra.trace.v1', `cra.bearer.${base64url('not-a-key')}`]);
      ws.once('error', () => undefined);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    });
    expect(refused).toBe(401);
  });

  it('works through injectWS as well, and a plain GET is told to upgrade', async () => {
    const ws = await rt.app.injectWS('/v1/trace', { headers: auth() });
    const pong = new Promise<Frame>((resolve) => ws.once('message', (data) => resolve(JSON.parse(String(data)))));
    ws.send(JSON.stringify({ type: 'ping' }));
    expect(await pong).toMatchObject({ type: 'pong' });
    ws.terminate();
    const plain = await fetch(`${base}/v1/trace`, { headers: auth() });
    expect(plain.status).toBe(400);
    expect(await plain.json()).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
  });
});

describe('WebSocket /v1/trace: subscriptions', () => {
  it('delivers the events of a resolve made after subscribing to an own session', async () => {
    const session = randomIds.uuid();
    await resolve(session);
    const client = await Client.open();
    const sub = await client.subscribe({ session_id: session });
    const r = await resolve(session);
    await client.waitForEvent(sub, completes(r), 'the resolution’s completion');
    const received = client.events(sub);
    expect(received[0]!.event_type).toBe('carp.request.received');
    expect(received).toEqual(await storedEvents(session, received[0]!.sequence));
    await client.close();
  });

  it('filters by event type glob and by minimum severity', async () => {
    const session = randomIds.uuid();
    await resolve(session);
    const client = await Client.open();
    const policy = await client.subscribe({ session_id: session, event_types: ['carp.policy.*'] });
    const warnings = await client.subscribe({ session_id: session, min_severity: 'warn' });
    const everything = await client.subscribe({ session_id: session, subscription: 'all-of-it' });
    expect(everything).toBe('all-of-it');
    await resolve(session);
    const refused = await resolveVia(resolveRequest({ session, scope: { atlases: ['no-such-atlas'] } }));
    expect(refused.status).toBe(404);
    await client.waitForEvent(everything, (e) => e.event_type === 'error.policy', 'the error.policy event');

    const policyTypes = client.events(policy).map((e) => e.event_type);
    expect(policyTypes).toContain('carp.policy.evaluation.started');
    expect(policyTypes).toContain('carp.policy.evaluation.completed');
    expect(policyTypes.every((t) => t.startsWith('carp.policy.'))).toBe(true);
    expect(client.events(warnings).map((e) => [e.event_type, e.severity])).toEqual([['error.policy', 'warn']]);
    expect(client.events(everything).length).toBeGreaterThan(policyTypes.length + 1);
    await client.close();
  });

  it('resumes from a sequence: the missing events, then live ones, with no gap and no duplicate', async () => {
    const session = randomIds.uuid();
    await resolve(session);
    await resolve(session);
    const client = await Client.open();
    // The subscribe and a concurrent resolve race: whichever wins, the sequence must be whole.
    const subscribed = client.subscribe({ session_id: session, from_sequence: 5 });
    const live = resolve(session);
    const sub = await subscribed;
    const r = await live;
    await client.waitForEvent(sub, completes(r), 'the live resolution’s completion');
    const after = await resolve(session);
    const last = await client.waitForEvent(sub, completes(after), 'the next resolution’s completion');
    const received = client.events(sub);
    expect(sequences(received)).toEqual(range(5, last.sequence));
    expect(received).toEqual(await storedEvents(session, 5));
    await client.close();
  });

  it('holds live events that arrive while the replay reads, and drops the ones the replay covered', async () => {
    for (const gate of ['before', 'after'] as const) {
      const session = randomIds.uuid();
      await resolve(session);
      const client = await Client.open();
      let release!: () => void;
      const reading = new Promise<void>((resolve) => (readControl.reading = resolve));
      readControl.session = session;
      readControl[gate] = new Promise<void>((resolve) => (release = resolve));
      const sub = await client.subscribe({ session_id: session, from_sequence: 0 });
      await reading;
      // The replay's read is held (before it ran, or after it returned): these events go live.
      const r = await resolve(session);
      release();
      const last = await client.waitForEvent(sub, completes(r), `the completion (gate ${gate} the read)`);
      expect(sequences(client.events(sub)), `gate ${gate} the read`).toEqual(range(0, last.sequence));
      readControl.session = undefined;
      await client.close();
    }
  });

  it('fills a hole left by events this replica did not publish (appended by another replica)', async () => {
    const session = randomIds.uuid();
    await resolve(session);
    const client = await Client.open();
    const sub = await client.subscribe({ session_id: session });
    const first = await resolve(session);
    await client.waitForEvent(sub, completes(first), 'the first completion');
    // Straight into the store, as another replica would: no live publication here.
    const span = { trace_id: randomIds.traceId(), span_id: randomIds.spanId() };
    const draft = rt.cra.tracer.draft(session, span, { type: 'custom.elsewhere', payload: { replica: 'b' } });
    await rt.cra.stores.traces.append(session, [draft]);
    const second = await resolve(session);
    const last = await client.waitForEvent(sub, completes(second), 'the second completion');
    const received = client.events(sub);
    expect(sequences(received)).toEqual(range(received[0]!.sequence, last.sequence));
    expect(received.map((e) => e.event_type)).toContain('custom.elsewhere');
    await client.close();
  });

  it('an agent may not subscribe to another agent’s session nor to every session; an auditor may', async () => {
    const created = await fetch(`${base}/v1/sessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth(OTHER_KEY) },
      body: JSON.stringify({ agent_type: 'test' }),
    });
    expect(created.status).toBe(201);
    const foreign = ((await created.json()) as { session_id: string }).session_id;

    const agent = await Client.open();
    expect(await agent.request({ type: 'subscribe', session_id: foreign, subscription: 'peek' })).toMatchObject({
      type: 'error',
      code: 'FORBIDDEN',
      subscription: 'peek',
    });
    expect(await agent.request({ type: 'subscribe' })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    expect(await agent.request({ type: 'subscribe', session_id: randomIds.uuid() })).toMatchObject({
      type: 'error',
      code: 'NOT_FOUND',
    });
    expect(await agent.request({ type: 'ping' })).toMatchObject({ type: 'pong' });

    const auditor = await Client.open(AUDITOR_KEY);
    const all = await auditor.subscribe({});
    const ownsForeign = await auditor.subscribe({ session_id: foreign });
    const session = randomIds.uuid();
    const r = await resolve(session);
    const seen = await auditor.waitForEvent(all, completes(r), 'dev-agent’s resolution');
    expect(seen.session_id).toBe(session);
    expect(auditor.events(ownsForeign)).toEqual([]);
    await agent.close();
    await auditor.close();
  });

  it('answers bad messages with an error frame naming the member, and keeps the connection open', async () => {
    const client = await Client.open();
    const bad = async (message: unknown, path: string) => {
      const reply = await client.request(message);
      expect(reply, JSON.stringify(message)).toMatchObject({ type: 'error', code: 'INVALID_REQUEST' });
      expect(reply.details?.violations?.[0]?.path, JSON.stringify(message)).toBe(path);
      return reply;
    };
    expect((await bad('{not json', '')).message).toContain('not valid JSON');
    await bad([1, 2], '');
    await bad({ type: 'dance' }, '/type');
    await bad({ type: 'subscribe', min_severity: 'loud' }, '/min_severity');
    await bad({ type: 'subscribe', from_sequence: 3 }, '/session_id');
    await bad({ type: 'subscribe', session_id: 'abc' }, '/session_id');
    await bad({ type: 'subscribe', event_types: ['carp.*', ''] }, '/event_types/1');
    await bad({ type: 'subscribe', from_sequence: -1, session_id: randomIds.uuid() }, '/from_sequence');
    await bad({ type: 'subscribe', bogus: true }, '/bogus');
    await bad({ type: 'unsubscribe', subscription: 'nope' }, '/subscription');
    const binary = new Promise<Frame>((resolve) =>
      client.ws.once('message', (data) => resolve(JSON.parse(String(data)) as Frame)),
    );
    client.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    expect(await binary).toMatchObject({ type: 'error', code: 'INVALID_REQUEST' });

    const session = randomIds.uuid();
    await resolve(session);
    await client.subscribe({ session_id: session, subscription: 'mine' });
    expect(await client.request({ type: 'subscribe', session_id: session, subscription: 'mine' })).toMatchObject({
      type: 'error',
      code: 'CONFLICT',
      subscription: 'mine',
    });
    expect(await client.request({ type: 'unsubscribe', subscription: 'mine' })).toEqual({
      type: 'unsubscribed',
      subscription: 'mine',
    });
    expect(await client.request({ type: 'ping' })).toMatchObject({ type: 'pong' });
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    await client.close();
  });
});

describe('WebSocket /v1/trace: flow control', () => {
  it('closes a client that stops reading with 1013 "slow consumer", and keeps serving everyone else', async () => {
    let dropped!: (reason: DropReason) => void;
    const drop = new Promise<DropReason>((resolve) => (dropped = resolve));
    const stopListening = rt.app.traceStream.onDrop((reason) => dropped(reason));
    const slow = await Client.open(KEYS.admin);
    await slow.subscribe({});
    // Another client, on a session the load does not touch.
    const quiet = randomIds.uuid();
    await resolve(quiet);
    const steady = await Client.open();
    const steadySub = await steady.subscribe({ session_id: quiet });
    (slow.ws as unknown as { _socket: Socket })._socket.pause();

    const admin = rt.identities.byAgentId('dev-admin')!;
    const span = { trace_id: randomIds.traceId(), span_id: randomIds.spanId() };
    const { session_id: session } = await rt.cra.sessions.start(admin, span, { agentType: 'load' });
    const blob = 'x'.repeat(32_768);
    let outcome: DropReason | undefined;
    void drop.then((reason) => (outcome = reason));
    for (let i = 0; i < 2_000 && outcome === undefined; i++) {
      await rt.cra.tracer.emit(session, span, [{ type: 'custom.load', payload: { i, blob } }]);
    }
    expect(await drop).toBe('slow_consumer');
    stopListening();

    // Everyone else is still served: HTTP, and live events on the other connection.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const r = await resolve(quiet);
    await steady.waitForEvent(steadySub, completes(r), 'a resolution after the drop');
    const stats = (await (await fetch(`${base}/v1/stats`, { headers: auth(KEYS.admin) })).json()) as Record<
      string,
      number
    >;
    expect(stats.websocket_slow_consumer_drops).toBeGreaterThanOrEqual(1);
    const metrics = await (await fetch(`${base}/metrics`, { headers: auth(KEYS.admin) })).text();
    expect(metrics).toMatch(/^cra_ws_clients_dropped_total\{reason="slow_consumer"\} [1-9]/m);

    // Once it reads again it finds what was buffered, then the close frame.
    (slow.ws as unknown as { _socket: Socket })._socket.resume();
    expect(await slow.closed).toEqual({ code: 1013, reason: 'slow consumer' });
    await steady.close();
  });
});

describe('WebSocket /v1/trace: heartbeats and shutdown', () => {
  it('sends heartbeat frames, and closes connections with 1001 when the runtime stops', async () => {
    const beating = await startRuntime({ 'stream.heartbeatMs': 25 });
    const url = `${beating.base.replace(/^http/, 'ws')}/v1/trace`;
    const client = await Client.open(KEYS.agent, ['cra.trace.v1'], url);
    const first = await client.waitFor((f) => f.type === 'heartbeat', 'a heartbeat');
    const index = client.frames.indexOf(first);
    await client.waitFor((f) => f.type === 'heartbeat', 'a second heartbeat', index + 1);
    expect(Number.isNaN(Date.parse(first.timestamp!))).toBe(false);
    expect(client.ws.readyState).toBe(WebSocket.OPEN);
    await beating.rt.close();
    expect(await client.closed).toEqual({ code: 1001, reason: 'server shutting down' });
  });
});

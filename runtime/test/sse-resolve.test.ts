/**
 * POST /v1/resolve/stream against a real listening runtime, read with fetch as a stream: event
 * order, equality with the stored resolution, the same TRACE events as /v1/resolve, refusals as
 * JSON before the stream opens, `event: error` after it opened, and `: ping` heartbeats.
 */
import { CraError, randomIds, verifyChain, type CARPResolution, type TraceEvent } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import type { ResolutionRecord } from '../src/store/ports.js';
import { memoryStores } from './helpers/pglite-template.js';
import { auth, KEYS, resolveRequest, testRuntime } from './helpers/runtime.js';

let rt: Runtime;
let base: string;
/** The resolution store, made slow or failing on demand to reach the states after the decision. */
const storeControl: { gate?: Promise<void>; fail?: boolean } = {};

beforeAll(async () => {
  const stores = await memoryStores();
  const put = stores.resolutions.put.bind(stores.resolutions);
  stores.resolutions.put = async (record: ResolutionRecord) => {
    if (storeControl.gate) await storeControl.gate;
    if (storeControl.fail) throw new CraError('SERVICE_UNAVAILABLE', 'the resolution store is unavailable');
    return put(record);
  };
  rt = await testRuntime({ 'stream.heartbeatMs': 20, 'load.maxEventLoopDelayMs': 0 }, { stores });
  base = await rt.app.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => rt.close());

interface SseMessage {
  event: string;
  data: unknown;
}

/** Incremental SSE reader over a fetch body: frames (events and comment lines) as they arrive. */
class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  readonly comments: string[] = [];
  done = false;

  constructor(res: Response) {
    this.reader = res.body!.getReader();
  }

  /** The next frame: an event, or a comment (`{ comment }`); undefined at the end of the stream. */
  async next(): Promise<SseMessage | { comment: string } | undefined> {
    for (;;) {
      const cut = this.buffer.indexOf('\n\n');
      if (cut >= 0) {
        const frame = this.buffer.slice(0, cut);
        this.buffer = this.buffer.slice(cut + 2);
        return parseFrame(frame);
      }
      const { value, done } = await this.reader.read();
      if (done) {
        this.done = true;
        expect(this.buffer, 'stream ended inside a frame').toBe('');
        return undefined;
      }
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Every remaining event (comments collected aside) until the stream ends. */
  async events(): Promise<SseMessage[]> {
    const out: SseMessage[] = [];
    for (let frame = await this.next(); frame; frame = await this.next()) {
      if ('comment' in frame) this.comments.push(frame.comment);
      else out.push(frame);
    }
    return out;
  }
}

function parseFrame(frame: string): SseMessage | { comment: string } {
  const lines = frame.split('\n');
  if (lines.every((l) => l.startsWith(':'))) return { comment: lines.map((l) => l.slice(1).trim()).join('\n') };
  let event = 'message';
  const data: string[] = [];
  for (const line of lines) {
    if (line.startsWith(':')) continue;
    if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data.push(line.slice(6));
    else throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
  }
  return { event, data: JSON.parse(data.join('\n')) };
}

function stream(body: unknown, headers: Record<string, string> = auth()): Promise<Response> {
  return fetch(`${base}/v1/resolve/stream`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
}

async function get<T>(path: string, key: string = KEYS.agent): Promise<T> {
  const res = await fetch(`${base}${path}`, { headers: auth(key) });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

/** Event names collapsed into runs: context,context,grant → context,grant. */
const runs = (names: string[]): string[] => names.filter((n, i) => n !== names[i - 1]);

describe('POST /v1/resolve/stream', () => {
  it('streams context blocks, grants, denials, the decision, the resolution (as stored), then end', async () => {
    const res = await stream(resolveRequest({ risk: 'high', scope: { atlases: ['github-ops'] } }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('x-accel-buffering')).toBe('no');
    const events = await new SseReader(res).events();
    const names = events.map((e) => e.event);
    expect(runs(names)).toEqual(['context', 'grant', 'denial', 'decision', 'resolution', 'end']);

    const resolution = events.find((e) => e.event === 'resolution')!.data as CARPResolution;
    expect(events.filter((e) => e.event === 'context').map((e) => e.data)).toEqual(resolution.context_blocks);
    expect(events.filter((e) => e.event === 'grant').map((e) => e.data)).toEqual(resolution.allowed_actions);
    expect(events.filter((e) => e.event === 'denial').map((e) => e.data)).toEqual(resolution.denied_actions);
    expect(events.find((e) => e.event === 'decision')!.data).toEqual(resolution.decision);
    expect(resolution.context_blocks).toHaveLength(3);
    expect(resolution.allowed_actions).toHaveLength(4);
    expect(resolution.denied_actions).toHaveLength(1);
    expect(events.at(-1)!.data).toEqual({});

    const stored = await get<CARPResolution>(`/v1/resolutions/${resolution.resolution_id}`);
    expect(resolution).toEqual(stored);
  });

  it('records exactly the TRACE events /v1/resolve records, on a valid chain', async () => {
    const viaStream = randomIds.uuid();
    const viaResolve = randomIds.uuid();
    // Distinct goals of the same shape, so neither is served from the other's cache entry.
    const goal = (n: number) => `Label issue ${n} of ${randomIds.uuid()} as a duplicate`;
    const streamed = await new SseReader(
      await stream(resolveRequest({ session: viaStream, goal: goal(1), risk: 'medium', hints: ['github.issues'] })),
    ).events();
    const plain = await fetch(`${base}/v1/resolve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth() },
      body: JSON.stringify(
        resolveRequest({ session: viaResolve, goal: goal(2), risk: 'medium', hints: ['github.issues'] }),
      ),
    });
    expect(plain.status).toBe(200);
    const a = (await get<{ events: TraceEvent[] }>(`/v1/traces/${viaStream}`)).events;
    const b = (await get<{ events: TraceEvent[] }>(`/v1/traces/${viaResolve}`)).events;
    expect(a.map((e) => e.event_type)).toEqual(b.map((e) => e.event_type));
    expect(a.map((e) => e.event_type)).toContain('carp.resolution.started');
    expect(a.map((e) => Object.keys(e.payload).sort())).toEqual(b.map((e) => Object.keys(e.payload).sort()));
    expect(verifyChain(a).valid).toBe(true);
    const resolution = streamed.find((e) => e.event === 'resolution')!.data as CARPResolution;
    expect(resolution.telemetry_link.events_emitted).toBe(a.length - 1);
    expect(a.at(-1)!.payload).toMatchObject({ resolution_id: resolution.resolution_id });
  });

  it('a cache hit streams too, with a fresh resolution id', async () => {
    const session = randomIds.uuid();
    const body = resolveRequest({ session, risk: 'low', hints: ['github.issues'] });
    const first = await new SseReader(await stream(body)).events();
    const second = await new SseReader(await stream({ ...body, request_id: randomIds.uuid() })).events();
    expect(runs(second.map((e) => e.event))).toEqual(runs(first.map((e) => e.event)));
    const r1 = first.find((e) => e.event === 'resolution')!.data as CARPResolution;
    const r2 = second.find((e) => e.event === 'resolution')!.data as CARPResolution;
    expect(r2.resolution_id).not.toBe(r1.resolution_id);
    const types = (await get<{ events: TraceEvent[] }>(`/v1/traces/${session}`)).events.map((e) => e.event_type);
    expect(types).toContain('carp.resolution.cache_hit');
  });

  it('refusals before the stream opens are CARPError JSON responses, not streams', async () => {
    const unauthenticated = await stream(resolveRequest({}), {});
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('content-type')).toContain('application/json');
    expect(await unauthenticated.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });

    const wrongKey = await stream(resolveRequest({}), auth('not-a-key'));
    expect(wrongKey.status).toBe(401);

    const invalid = await stream({ ...resolveRequest({}), task: {} });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('content-type')).toContain('application/json');
    const body = (await invalid.json()) as { error: { code: string; details: { violations: { path: string }[] } } };
    expect(body.error.code).toBe('INVALID_REQUEST');
    expect(body.error.details.violations.map((v) => v.path)).toContain('/task/goal');

    const noAtlas = await stream(resolveRequest({ scope: { atlases: ['no-such-atlas'] } }));
    expect(noAtlas.status).toBe(404);
    expect(await noAtlas.json()).toMatchObject({ error: { code: 'ATLAS_NOT_FOUND' } });

    const impostor = await stream(resolveRequest({ agent: 'dev-admin' }));
    expect(impostor.status).toBe(403);
  });

  it('a failure after the stream opened is an error event with the CARPError envelope, then the stream ends', async () => {
    storeControl.fail = true;
    try {
      const body = resolveRequest({ risk: 'low', goal: 'close a stale issue', hints: ['github.issues'] });
      const res = await stream(body);
      expect(res.status).toBe(200);
      const events = await new SseReader(res).events();
      expect(events.map((e) => e.event)).toEqual(['error']);
      expect(events[0]!.data).toMatchObject({
        carp_version: '1.0',
        request_id: body.request_id,
        error: { code: 'SERVICE_UNAVAILABLE', message: 'the resolution store is unavailable' },
        retry: { retriable: true },
      });
    } finally {
      storeControl.fail = false;
    }
  });

  it('sends `: ping` comment lines while a stream waits', async () => {
    let release!: () => void;
    storeControl.gate = new Promise<void>((resolve) => (release = resolve));
    try {
      const res = await stream(resolveRequest({ risk: 'low', hints: ['github.repos'] }));
      expect(res.status).toBe(200);
      const reader = new SseReader(res);
      const before: string[] = [];
      for (;;) {
        const frame = await reader.next();
        expect(frame, 'the stream ended before a ping').toBeDefined();
        expect(frame).toHaveProperty('comment');
        const comment = (frame as { comment: string }).comment;
        before.push(comment);
        if (comment === 'ping') break;
      }
      expect(before[0]).toBe('stream open');
      storeControl.gate = undefined;
      release();
      const events = await reader.events();
      expect(runs(events.map((e) => e.event))).toEqual(['context', 'denial', 'decision', 'resolution', 'end']);
    } finally {
      storeControl.gate = undefined;
      release();
    }
  });
});

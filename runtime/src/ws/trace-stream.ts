/**
 * WebSocket `/v1/trace` (CRA-SPEC §6.6): live TRACE events with filters (session, event type
 * globs, minimum severity) and resume from a sequence number. Protocol: docs/reference/websocket.md.
 *
 * - `registerWebSockets(app, hub)` at the root, before any route: the @fastify/websocket plugin
 *   (upgrades dispatch through fastify, so the scoped context's authentication applies to them),
 *   subprotocol selection, the browser credential (`cra.bearer.<base64url token>` subprotocol),
 *   and shutdown (every socket closed with 1001).
 * - `traceStreamRoutes(api, cra, hub)` inside the authenticated scope.
 * - `TraceStreamHub`: one Tracer listener for the process, routing each sealed event to the
 *   subscriptions of its session and to the every-session subscriptions of admins and auditors.
 */
import websocket from '@fastify/websocket';
import { CraError, type TraceEvent } from '@cra/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocketServer } from 'ws';
import type { Cra } from '../domain/cra.js';
import type { Tracer } from '../domain/tracer.js';
import { sendError } from '../plugins/errors.js';
import { BEARER_SUBPROTOCOL_PREFIX, CLOSE, TRACE_SUBPROTOCOL } from './protocol.js';
import type { Subscription } from './subscription.js';
import {
  TraceConnection,
  type ConnectionHost,
  type DropReason,
  type TraceConnectionOptions,
} from './trace-connection.js';

export type TraceStreamOptions = TraceConnectionOptions;

export const TRACE_STREAM_DEFAULTS: Readonly<TraceStreamOptions> = {
  heartbeatMs: 15_000,
  maxBufferedBytes: 1_048_576,
  maxSubscriptions: 32,
};

/** Largest client message accepted (bigger ones close the socket with 1009). */
export const MAX_CLIENT_MESSAGE_BYTES = 65_536;
/** On shutdown, sockets that have not finished the close handshake by then are cut. */
export const SHUTDOWN_CLOSE_GRACE_MS = 2_000;

declare module 'fastify' {
  interface FastifyInstance {
    traceStream: TraceStreamHub;
  }
}

export class TraceStreamHub implements ConnectionHost {
  private readonly bySession = new Map<string, Set<Subscription>>();
  private readonly everySession = new Set<Subscription>();
  private readonly connections = new Set<TraceConnection>();
  private readonly dropListeners = new Set<(reason: DropReason) => void>();
  private readonly drops: Record<DropReason, number> = { slow_consumer: 0, unresponsive: 0 };
  private opened = 0;
  private detach: (() => void) | undefined;
  private running = false;

  constructor(
    private readonly tracer: Pick<Tracer, 'subscribe'>,
    readonly options: Readonly<TraceStreamOptions> = TRACE_STREAM_DEFAULTS,
  ) {}

  start(): void {
    this.running = true;
    this.follow();
  }

  stop(): void {
    this.running = false;
    this.follow();
  }

  /**
   * Follows the event feed only while some subscription wants events: with Redis, the feed of a
   * replica carries every other replica's events too, and following it means parsing them all.
   * A subscription added is followed from that moment (synchronously: no gap before its backfill).
   */
  private follow(): void {
    const wanted = this.running && (this.bySession.size > 0 || this.everySession.size > 0);
    if (wanted && this.detach === undefined) {
      this.detach = this.tracer.subscribe((events) => this.dispatch(events));
    } else if (!wanted && this.detach !== undefined) {
      this.detach();
      this.detach = undefined;
    }
  }

  /** Called with the reason whenever the server closes a connection on its own (metrics). */
  onDrop(listener: (reason: DropReason) => void): () => void {
    this.dropListeners.add(listener);
    return () => this.dropListeners.delete(listener);
  }

  snapshot(): Record<string, number> {
    let subscriptions = 0;
    for (const connection of this.connections) subscriptions += connection.subscriptionCount;
    return {
      websocket_connections: this.connections.size,
      websocket_connections_total: this.opened,
      websocket_subscriptions: subscriptions,
      websocket_slow_consumer_drops: this.drops.slow_consumer,
      websocket_unresponsive_drops: this.drops.unresponsive,
    };
  }

  opening(connection: TraceConnection): void {
    this.opened += 1;
    this.connections.add(connection);
  }

  /** Closes every connection with `code` (1001 on shutdown). */
  closeAll(code: number = CLOSE.goingAway, reason = 'server shutting down'): void {
    for (const connection of this.connections) connection.close(code, reason);
  }

  add(subscription: Subscription): void {
    if (subscription.sessionId === undefined) {
      this.everySession.add(subscription);
    } else {
      let set = this.bySession.get(subscription.sessionId);
      if (!set) this.bySession.set(subscription.sessionId, (set = new Set()));
      set.add(subscription);
    }
    this.follow();
  }

  remove(subscription: Subscription): void {
    if (subscription.sessionId === undefined) {
      this.everySession.delete(subscription);
    } else {
      const set = this.bySession.get(subscription.sessionId);
      set?.delete(subscription);
      if (set?.size === 0) this.bySession.delete(subscription.sessionId);
    }
    this.follow();
  }

  dropped(reason: DropReason): void {
    this.drops[reason] += 1;
    for (const listener of this.dropListeners) {
      try {
        listener(reason);
      } catch {
        // A metrics callback never affects the stream.
      }
    }
  }

  closed(connection: TraceConnection): void {
    this.connections.delete(connection);
  }

  /** Routes one sealed batch; serialises each event once however many subscriptions get it. */
  dispatch(events: readonly TraceEvent[]): void {
    for (const event of events) {
      const session = this.bySession.get(event.session_id);
      if (!session && this.everySession.size === 0) continue;
      const json = JSON.stringify(event);
      if (session) for (const subscription of session) subscription.offer(event, json);
      for (const subscription of this.everySession) subscription.offer(event, json);
    }
  }
}

/**
 * The browser credential: `Sec-WebSocket-Protocol: cra.trace.v1, cra.bearer.<base64url token>`.
 * Browsers cannot set `Authorization` on a WebSocket, and a token in the URL ends up in access
 * logs; a subprotocol is neither logged nor kept in history. The entry is removed from the header
 * (never echoed, never selected) and the token handed to the normal authentication as
 * `Authorization: Bearer`, unless the request already carries a credential header.
 */
export function bearerFromSubprotocol(request: FastifyRequest): void {
  const headers = request.raw.headers;
  const offered = headers['sec-websocket-protocol'];
  if (typeof offered !== 'string' || !offered.includes(BEARER_SUBPROTOCOL_PREFIX)) return;
  const protocols = offered.split(',').map((p) => p.trim());
  const bearer = protocols.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX));
  const rest = protocols.filter((p) => !p.startsWith(BEARER_SUBPROTOCOL_PREFIX) && p.length > 0);
  if (rest.length > 0) headers['sec-websocket-protocol'] = rest.join(', ');
  else delete headers['sec-websocket-protocol'];
  const encoded = bearer?.slice(BEARER_SUBPROTOCOL_PREFIX.length) ?? '';
  if (headers.authorization !== undefined || headers['x-api-key'] !== undefined) return;
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return;
  const token = Buffer.from(encoded, 'base64url').toString('utf8');
  if (token.length > 0) headers.authorization = `Bearer ${token}`;
}

function selectProtocol(protocols: Set<string>): string | false {
  return protocols.has(TRACE_SUBPROTOCOL) ? TRACE_SUBPROTOCOL : false;
}

async function closeSockets(hub: TraceStreamHub, wss: WebSocketServer): Promise<void> {
  hub.closeAll();
  for (const client of wss.clients) client.close(CLOSE.goingAway, 'server shutting down');
  const allClosed = new Promise<void>((resolve) => wss.close(() => resolve()));
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, SHUTDOWN_CLOSE_GRACE_MS);
    timer.unref();
  });
  await Promise.race([allClosed, grace]);
  clearTimeout(timer);
  for (const client of wss.clients) client.terminate();
  await allClosed;
}

/** The WebSocket plugin and its root-level hooks; register before any route. */
export async function registerWebSockets(app: FastifyInstance, hub: TraceStreamHub): Promise<void> {
  await app.register(websocket, {
    options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES, handleProtocols: selectProtocol },
    errorHandler: (error, socket, request) => {
      request.log.warn({ err: error }, 'websocket error');
      socket.terminate();
    },
    preClose: async function preClose(this: FastifyInstance) {
      await closeSockets(hub, this.websocketServer);
    },
  });
  app.decorate('traceStream', hub);
  app.addHook('onRequest', async (request) => {
    if (request.raw.headers.upgrade?.toLowerCase() === 'websocket') bearerFromSubprotocol(request);
  });
  hub.start();
  app.addHook('onClose', async () => hub.stop());
}

/** `GET /v1/trace` (WebSocket); registered inside the authenticated scope. */
export function traceStreamRoutes(api: FastifyInstance, cra: Cra, hub: TraceStreamHub): void {
  api.route({
    method: 'GET',
    url: '/v1/trace',
    schema: { hide: true },
    handler: async (request, reply) =>
      sendError(
        request,
        reply,
        new CraError('INVALID_REQUEST', 'GET /v1/trace is a WebSocket endpoint: upgrade the connection'),
      ),
    wsHandler: (socket, request) => {
      hub.opening(new TraceConnection(socket, request.principal, cra, hub, hub.options, request.log));
    },
  });
}

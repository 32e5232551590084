/**
 * One `/v1/trace` WebSocket connection: parses client messages, authorizes subscriptions for the
 * authenticated principal, sends heartbeats and checks that the peer is alive, and protects the
 * server from a client that does not read: when the data waiting to be sent to it passes
 * `maxBufferedBytes`, it is closed with 1013 ("try again later": reconnect and resume).
 */
import { compileEventFilter, CraError, isoTime, type Principal } from '@cra/core';
import type { FastifyBaseLogger } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import type { Cra } from '../domain/cra.js';
import { CLOSE, invalidMessage, parseClientMessage, type ServerMessage, type SubscribeMessage } from './protocol.js';
import { Subscription, type SubscriptionSink } from './subscription.js';

export interface TraceConnectionOptions {
  /** A `heartbeat` frame and a WebSocket ping every this many milliseconds. */
  heartbeatMs: number;
  /** Unsent bytes a client may have before it is closed as a slow consumer. */
  maxBufferedBytes: number;
  maxSubscriptions: number;
}

export type DropReason = 'slow_consumer' | 'unresponsive';

/** What a connection needs from the hub that routes live events to subscriptions. */
export interface ConnectionHost {
  add(subscription: Subscription): void;
  remove(subscription: Subscription): void;
  dropped(reason: DropReason): void;
  closed(connection: TraceConnection): void;
}

function canReadEverySession(principal: Principal): boolean {
  return principal.roles.includes('admin') || principal.roles.includes('auditor');
}

function text(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

export class TraceConnection {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly sink: SubscriptionSink;
  private readonly closedPromise: Promise<void>;
  private queue: Promise<void> = Promise.resolve();
  private lastWrite: Promise<void> = Promise.resolve();
  private alive = true;
  private closing = false;
  private assigned = 0;

  constructor(
    private readonly socket: WebSocket,
    private readonly principal: Principal,
    private readonly cra: Cra,
    private readonly host: ConnectionHost,
    private readonly options: TraceConnectionOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    // Attached synchronously: a message sent right after the handshake is not lost.
    socket.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    socket.on('pong', () => {
      this.alive = true;
    });
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.once('close', () => this.onClose());
    this.sink = {
      send: (frame) => this.sendFrame(frame),
      flushed: () => Promise.race([this.lastWrite, this.closedPromise]),
      maxPendingBytes: options.maxBufferedBytes,
      overflow: () => this.drop('slow_consumer'),
      failed: (subscription, error) => {
        if (this.subscriptions.get(subscription.id) !== subscription) return;
        this.removeSubscription(subscription.id);
        this.sendError(error, subscription.id);
      },
    };
    this.heartbeat = setInterval(() => this.tick(), options.heartbeatMs);
    this.heartbeat.unref();
  }

  get subscriptionCount(): number {
    return this.subscriptions.size;
  }

  /** Closes the connection (shutdown: 1001); its subscriptions end now. */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.cleanup();
    this.socket.close(code, reason);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    this.alive = true;
    if (this.closing) return;
    let message;
    try {
      if (isBinary) throw invalidMessage('', 'must be a JSON text frame, not binary');
      message = parseClientMessage(text(data));
    } catch (err) {
      this.sendError(err);
      return;
    }
    // One message at a time, so replies keep the order of the requests.
    const handled = message;
    this.queue = this.queue.then(async () => {
      if (this.closing) return;
      try {
        switch (handled.type) {
          case 'subscribe':
            await this.subscribe(handled);
            break;
          case 'unsubscribe':
            if (!this.removeSubscription(handled.subscription)) {
              throw invalidMessage('/subscription', `names no subscription of this connection`);
            }
            this.send({ type: 'unsubscribed', subscription: handled.subscription });
            break;
          default:
            this.send({ type: 'pong', timestamp: isoTime(Date.now()) });
        }
      } catch (err) {
        this.sendError(err, handled.type === 'subscribe' ? handled.subscription : undefined);
      }
    });
  }

  private nextId(): string {
    let id: string;
    do id = `s${++this.assigned}`;
    while (this.subscriptions.has(id));
    return id;
  }

  private async subscribe(message: SubscribeMessage): Promise<void> {
    const id = message.subscription ?? this.nextId();
    if (this.subscriptions.has(id)) {
      throw new CraError('CONFLICT', `subscription ${id} already exists on this connection`);
    }
    if (this.subscriptions.size >= this.options.maxSubscriptions) {
      throw invalidMessage('', `would exceed ${this.options.maxSubscriptions} subscriptions on one connection`);
    }
    const sessionId = message.session_id;
    const accept = compileEventFilter({
      ...(sessionId !== undefined ? { session_id: sessionId } : {}),
      ...(message.event_types ? { event_types: message.event_types } : {}),
      ...(message.min_severity ? { min_severity: message.min_severity } : {}),
    });
    if (sessionId !== undefined) {
      // NOT_FOUND for an unknown session, FORBIDDEN for another agent's (owners, admins, auditors read).
      await this.cra.sessions.get(this.principal, sessionId);
    } else if (!canReadEverySession(this.principal)) {
      throw new CraError('FORBIDDEN', 'only admins and auditors may subscribe to every session; name a session_id');
    }
    if (this.closing) return;
    if (this.subscriptions.has(id)) {
      throw new CraError('CONFLICT', `subscription ${id} already exists on this connection`);
    }
    const principal = this.principal;
    const read =
      sessionId === undefined
        ? undefined
        : (fromSequence: number, limit: number) =>
            this.cra.traces.events(principal, sessionId, { fromSequence, limit });
    const subscription = new Subscription(id, sessionId, accept, this.sink, read);
    this.subscriptions.set(id, subscription);
    // Registered before the replay starts: live events arriving meanwhile are held, not lost.
    this.host.add(subscription);
    this.send({
      type: 'subscribed',
      subscription: id,
      ...(sessionId !== undefined ? { session_id: sessionId } : {}),
      ...(message.from_sequence !== undefined ? { from_sequence: message.from_sequence } : {}),
    });
    if (message.from_sequence !== undefined) void subscription.resume(message.from_sequence);
  }

  private removeSubscription(id: string): boolean {
    const subscription = this.subscriptions.get(id);
    if (!subscription) return false;
    subscription.close();
    this.host.remove(subscription);
    this.subscriptions.delete(id);
    return true;
  }

  private send(message: ServerMessage): boolean {
    return this.sendFrame(JSON.stringify(message));
  }

  private sendError(error: unknown, subscription?: string): void {
    const known =
      error instanceof CraError
        ? error
        : new CraError('INTERNAL_ERROR', 'an internal error occurred; see the runtime log');
    if (!(error instanceof CraError)) this.log.error({ err: error }, 'trace stream failure');
    this.send({
      type: 'error',
      code: known.code,
      message: known.message,
      ...(subscription !== undefined ? { subscription } : {}),
      ...(known.details ? { details: known.details } : {}),
    });
  }

  private sendFrame(frame: string): boolean {
    if (this.closing || this.socket.readyState !== this.socket.OPEN) return false;
    if (this.socket.bufferedAmount > this.options.maxBufferedBytes) {
      this.drop('slow_consumer');
      return false;
    }
    this.lastWrite = new Promise((resolve) => this.socket.send(frame, () => resolve()));
    return true;
  }

  private tick(): void {
    if (this.closing || this.socket.readyState !== this.socket.OPEN) return;
    if (!this.alive) {
      this.drop('unresponsive');
      return;
    }
    this.alive = false;
    this.socket.ping();
    this.send({ type: 'heartbeat', timestamp: isoTime(Date.now()) });
  }

  private drop(reason: DropReason): void {
    if (this.closing) return;
    this.host.dropped(reason);
    this.log.warn(
      { reason, agent_id: this.principal.agentId, buffered_bytes: this.socket.bufferedAmount },
      'closing a trace stream connection',
    );
    if (reason === 'slow_consumer') {
      this.close(CLOSE.tryAgainLater, 'slow consumer');
    } else {
      // It answers no ping: a close handshake would wait for nothing.
      this.closing = true;
      this.cleanup();
      this.socket.terminate();
    }
  }

  private cleanup(): void {
    clearInterval(this.heartbeat);
    for (const id of [...this.subscriptions.keys()]) this.removeSubscription(id);
  }

  private onClose(): void {
    this.closing = true;
    this.cleanup();
    this.host.closed(this);
  }
}

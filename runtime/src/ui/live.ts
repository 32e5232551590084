/**
 * Live tail of one session over the `/v1/trace` WebSocket (docs/reference/websocket.md). A
 * browser cannot set headers on a WebSocket, so the key travels as the subprotocol
 * `cra.bearer.<base64url(key)>` next to `cra.trace.v1`. The subscription resumes from the next
 * sequence the viewer lacks, so a reconnect neither loses nor repeats an event.
 */
import type { TraceEvent } from '@cra/core/browser';

export const TRACE_SUBPROTOCOL = 'cra.trace.v1';
export const BEARER_SUBPROTOCOL_PREFIX = 'cra.bearer.';

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface LiveOptions {
  sessionId: string;
  /** The first sequence the viewer does not have yet. */
  fromSequence: number;
  key: string | null;
  onEvent(event: TraceEvent): void;
  onState(state: LiveState, detail?: string): void;
}

const SUBSCRIPTION = 'viewer';
const MAX_BACKOFF_MS = 15_000;

/** RFC 4648 §5 without padding, of the UTF-8 bytes. */
export function base64url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

interface ServerFrame {
  type: string;
  event?: TraceEvent;
  code?: string;
  message?: string;
}

export class LiveTail {
  private socket: WebSocket | undefined;
  private next: number;
  private stopped = false;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: LiveOptions) {
    this.next = options.fromSequence;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.socket?.close(1000, 'viewer closed');
    this.socket = undefined;
    this.options.onState('stopped');
  }

  private connect(): void {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/trace`;
    const key = this.options.key;
    const protocols = [TRACE_SUBPROTOCOL, ...(key === null ? [] : [`${BEARER_SUBPROTOCOL_PREFIX}${base64url(key)}`])];
    this.options.onState(this.attempts === 0 ? 'connecting' : 'reconnecting');
    const socket = new WebSocket(url, protocols);
    this.socket = socket;
    socket.addEventListener('open', () => {
      socket.send(
        JSON.stringify({
          type: 'subscribe',
          subscription: SUBSCRIPTION,
          session_id: this.options.sessionId,
          from_sequence: this.next,
        }),
      );
    });
    socket.addEventListener('message', (message) => this.onFrame(message.data));
    socket.addEventListener('close', () => {
      if (this.socket !== socket || this.stopped) return;
      this.socket = undefined;
      this.retry();
    });
  }

  private onFrame(data: unknown): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(data)) as ServerFrame;
    } catch {
      return;
    }
    if (frame.type === 'subscribed') {
      this.attempts = 0;
      this.options.onState('live');
    } else if (frame.type === 'event' && frame.event) {
      // Resumed subscriptions never repeat an event; a guard costs nothing.
      if (frame.event.sequence < this.next) return;
      this.next = frame.event.sequence + 1;
      this.options.onEvent(frame.event);
    } else if (frame.type === 'error') {
      // A refused subscription (FORBIDDEN, NOT_FOUND) will not succeed on a retry.
      this.stopped = true;
      this.socket?.close(1000, 'subscription refused');
      this.options.onState('stopped', `${frame.code ?? 'ERROR'}: ${frame.message ?? 'subscription refused'}`);
    }
  }

  private retry(): void {
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempts);
    this.attempts += 1;
    this.options.onState('reconnecting', `connection lost; retrying in ${Math.round(delay / 1000)} s`);
    this.timer = setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }
}

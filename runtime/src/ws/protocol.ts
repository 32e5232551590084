/**
 * The `/v1/trace` WebSocket protocol (docs/reference/websocket.md): JSON text frames, one message
 * each. Client messages are parsed strictly here; a bad one is an INVALID_REQUEST naming the member
 * by JSON Pointer, answered with an `error` frame (the connection stays open).
 */
import { CraError, SEVERITIES, UUID_V7_PATTERN, type Severity, type TraceEvent } from '@cra/core';

/** The subprotocol a client offers (and the server selects) for this protocol. */
export const TRACE_SUBPROTOCOL = 'cra.trace.v1';
/** `cra.bearer.<base64url(token)>`: the credential for clients that cannot set headers (browsers). */
export const BEARER_SUBPROTOCOL_PREFIX = 'cra.bearer.';

export const MAX_EVENT_TYPES = 64;
const SUBSCRIPTION_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const UUID = new RegExp(UUID_V7_PATTERN);

export interface SubscribeMessage {
  type: 'subscribe';
  /** The client's name for the subscription; the server assigns one when absent. */
  subscription?: string;
  session_id?: string;
  event_types?: string[];
  min_severity?: Severity;
  /** Replay stored events from this sequence (inclusive) before live ones; needs session_id. */
  from_sequence?: number;
}

export type ClientMessage = SubscribeMessage | { type: 'unsubscribe'; subscription: string } | { type: 'ping' };

export type ServerMessage =
  | { type: 'subscribed'; subscription: string; session_id?: string; from_sequence?: number }
  | { type: 'unsubscribed'; subscription: string }
  | { type: 'event'; subscription: string; event: TraceEvent }
  | { type: 'heartbeat'; timestamp: string }
  | { type: 'pong'; timestamp: string }
  | { type: 'error'; code: string; message: string; subscription?: string; details?: Record<string, unknown> };

/** Close codes the server uses (RFC 6455 §7.4.1 and the IANA registry). */
export const CLOSE = {
  /** The runtime is shutting down. */
  goingAway: 1001,
  /** The client did not read fast enough: its unsent data passed the limit. Reconnect and resume. */
  tryAgainLater: 1013,
} as const;

export function invalidMessage(path: string, message: string): CraError {
  return new CraError('INVALID_REQUEST', path ? `${path} ${message}` : `the message ${message}`, {
    details: { violations: [{ code: 'INVALID_REQUEST', path, message }] },
  });
}

const ALLOWED: Record<ClientMessage['type'], readonly string[]> = {
  subscribe: ['type', 'subscription', 'session_id', 'event_types', 'min_severity', 'from_sequence'],
  unsubscribe: ['type', 'subscription'],
  ping: ['type'],
};

function subscriptionId(value: unknown): string {
  if (typeof value !== 'string' || !SUBSCRIPTION_ID.test(value)) {
    throw invalidMessage('/subscription', 'must be 1-64 characters of A-Z a-z 0-9 . _ : -');
  }
  return value;
}

function eventTypes(types: unknown): string[] {
  if (!Array.isArray(types) || types.length === 0 || types.length > MAX_EVENT_TYPES) {
    throw invalidMessage('/event_types', `must be an array of 1-${MAX_EVENT_TYPES} event type globs`);
  }
  types.forEach((t: unknown, i) => {
    if (typeof t !== 'string' || t.length === 0 || t.length > 128) {
      throw invalidMessage(`/event_types/${i}`, 'must be a non-empty string of at most 128 characters');
    }
  });
  return types as string[];
}

function severity(value: unknown): Severity {
  if (typeof value !== 'string' || !(SEVERITIES as readonly string[]).includes(value)) {
    throw invalidMessage('/min_severity', `must be one of ${SEVERITIES.join(', ')}`);
  }
  return value as Severity;
}

function sequence(value: unknown, sessionId: string | undefined): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidMessage('/from_sequence', 'must be a non-negative integer');
  }
  if (sessionId === undefined) {
    throw invalidMessage('/session_id', 'is required with from_sequence (sequences number one session’s chain)');
  }
  return value;
}

function parseSubscribe(raw: Record<string, unknown>): SubscribeMessage {
  const out: SubscribeMessage = { type: 'subscribe' };
  if (raw.subscription !== undefined) out.subscription = subscriptionId(raw.subscription);
  if (raw.session_id !== undefined) {
    if (typeof raw.session_id !== 'string' || !UUID.test(raw.session_id)) {
      throw invalidMessage('/session_id', 'must be a session id (UUIDv7)');
    }
    out.session_id = raw.session_id;
  }
  if (raw.event_types !== undefined) out.event_types = eventTypes(raw.event_types);
  if (raw.min_severity !== undefined) out.min_severity = severity(raw.min_severity);
  if (raw.from_sequence !== undefined) out.from_sequence = sequence(raw.from_sequence, out.session_id);
  return out;
}

/** Parses one text frame; throws INVALID_REQUEST naming the offending member. */
export function parseClientMessage(text: string): ClientMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidMessage('', `is not valid JSON: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw invalidMessage('', 'must be a JSON object');
  }
  const message = raw as Record<string, unknown>;
  const type = message.type;
  if (typeof type !== 'string' || !Object.hasOwn(ALLOWED, type)) {
    throw invalidMessage('/type', `must be one of ${Object.keys(ALLOWED).join(', ')}`);
  }
  const allowed = ALLOWED[type as ClientMessage['type']];
  for (const key of Object.keys(message)) {
    if (!allowed.includes(key)) {
      throw invalidMessage(`/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, `is not a member of a ${type} message`);
    }
  }
  switch (type) {
    case 'subscribe':
      return parseSubscribe(message);
    case 'unsubscribe':
      if (message.subscription === undefined) throw invalidMessage('/subscription', 'is required');
      return { type: 'unsubscribe', subscription: subscriptionId(message.subscription) };
    default:
      return { type: 'ping' };
  }
}

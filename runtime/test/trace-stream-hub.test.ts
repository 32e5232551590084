/**
 * The WebSocket trace hub follows the event feed only while a subscription wants events: with
 * Redis the feed carries every other replica's events, which are parsed only when followed.
 */
import type { TraceEvent } from '@cra/core';
import { describe, expect, it } from 'vitest';
import type { Subscription } from '../src/ws/subscription.js';
import { TraceStreamHub } from '../src/ws/trace-stream.js';

function feed() {
  const listeners = new Set<(events: readonly TraceEvent[]) => void>();
  return {
    listeners,
    subscribe(listener: (events: readonly TraceEvent[]) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(events: readonly TraceEvent[]) {
      for (const listener of listeners) listener(events);
    },
  };
}

function subscription(sessionId: string | undefined, got: string[]): Subscription {
  return { sessionId, offer: (_event: TraceEvent, json: string) => got.push(json) } as unknown as Subscription;
}

const event = (session: string, sequence: number) =>
  ({ session_id: session, sequence, event_type: 'carp.request.received', payload: {} }) as unknown as TraceEvent;

describe('TraceStreamHub', () => {
  it('subscribes to the feed with the first subscription and leaves it with the last', () => {
    const events = feed();
    const hub = new TraceStreamHub(events);
    hub.start();
    expect(events.listeners.size).toBe(0);

    const mine: string[] = [];
    const everything: string[] = [];
    const one = subscription('s1', mine);
    const all = subscription(undefined, everything);
    hub.add(one);
    expect(events.listeners.size).toBe(1);
    hub.add(all);
    expect(events.listeners.size).toBe(1);

    events.emit([event('s1', 0), event('s2', 0)]);
    expect(mine.map((j) => (JSON.parse(j) as TraceEvent).session_id)).toEqual(['s1']);
    expect(everything).toHaveLength(2);

    hub.remove(one);
    expect(events.listeners.size).toBe(1);
    hub.remove(all);
    expect(events.listeners.size).toBe(0);
    events.emit([event('s1', 1)]);
    expect(mine).toHaveLength(1);
  });

  it('follows nothing before start or after stop, and picks the subscriptions up again on start', () => {
    const events = feed();
    const hub = new TraceStreamHub(events);
    const got: string[] = [];
    hub.add(subscription('s1', got));
    expect(events.listeners.size).toBe(0);
    hub.start();
    expect(events.listeners.size).toBe(1);
    hub.stop();
    expect(events.listeners.size).toBe(0);
    hub.start();
    events.emit([event('s1', 0)]);
    expect(got).toHaveLength(1);
  });
});

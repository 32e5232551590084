/**
 * Live TRACE events across replicas: each replica publishes the events it stored on one Redis
 * channel and hands the events of the other replicas to its WebSocket subscribers. Best effort:
 * a subscriber that misses a message fills the hole from the store by sequence (the stream does),
 * and durability never depends on this channel.
 */
import type { TraceEvent } from '@cra/core';
import type { Redis } from 'ioredis';
import { eventJson } from '../event-json.js';
import type { RedisConnection } from './client.js';

type Listener = (events: readonly TraceEvent[]) => void;

interface Message {
  from: string;
  events: TraceEvent[];
}

export class RedisTraceFanout {
  private readonly listeners = new Set<Listener>();
  private subscriber: Redis | undefined;
  private readonly channel: string;
  private pending: string[] = [];
  private flushScheduled = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly instanceId: string,
  ) {
    // Pub/sub channels are not key-prefixed by ioredis: prefix by hand so deployments sharing a
    // Redis do not see each other's events.
    this.channel = `${redis.keyPrefix}trace-events`;
  }

  async start(): Promise<void> {
    const subscriber = this.redis.client.duplicate({ lazyConnect: true, enableOfflineQueue: true });
    subscriber.on('error', () => undefined); // reconnects by itself; missed messages are refilled
    // Every replica receives its own messages too: recognised by their opening (`publish` writes
    // `from` first) without parsing them — at one message per request, that JSON.parse of every
    // event was a few percent of a resolve's CPU.
    const own = `{"from":${JSON.stringify(this.instanceId)},`;
    subscriber.on('message', (channel: string, text: string) => {
      // Nobody here follows other replicas' events right now (no trace subscription): not even parsed.
      if (this.listeners.size === 0 || channel !== this.channel || text.startsWith(own)) return;
      let message: Message;
      try {
        message = JSON.parse(text) as Message;
      } catch {
        return;
      }
      if (message.from === this.instanceId || !Array.isArray(message.events)) return;
      for (const listener of this.listeners) {
        try {
          listener(message.events);
        } catch {
          // a subscriber's failure is its own
        }
      }
    });
    this.subscriber = subscriber;
    await subscriber.connect().catch(() => undefined);
    await subscriber.subscribe(this.channel).catch(() => undefined);
  }

  /**
   * Publishes events this replica stored. Never throws, never waits for the network. The events
   * of every append that completes in one turn of the event loop go out as one message (each
   * PUBLISH is a socket write and a wake-up of Redis and of every subscriber, whatever its size),
   * in order, at the end of the turn.
   */
  publish(events: readonly TraceEvent[]): void {
    if (events.length === 0 || !this.redis.isReady()) return;
    // Each event's text as the trace store already made it.
    for (const event of events) this.pending.push(eventJson(event));
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const texts = this.pending;
    this.pending = [];
    if (texts.length === 0 || !this.redis.isReady()) return;
    // The JSON of `{from, events}`: `from` first, which the subscribers rely on (see start).
    const message = `{"from":${JSON.stringify(this.instanceId)},"events":[${texts.join(',')}]}`;
    this.redis.client.publish(this.channel, message).catch(() => undefined);
  }

  /** Events stored by other replicas. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.flush();
    this.listeners.clear();
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}

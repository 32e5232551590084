/**
 * Live TRACE events across replicas: each replica publishes the events it stored on one Redis
 * channel and hands the events of the other replicas to its WebSocket subscribers. Best effort:
 * a subscriber that misses a message fills the hole from the store by sequence (the stream does),
 * and durability never depends on this channel.
 */
import type { TraceEvent } from '@cra/core';
import type { Redis } from 'ioredis';
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
    subscriber.on('message', (channel: string, text: string) => {
      if (channel !== this.channel) return;
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

  /** Publishes events this replica stored. Never throws, never waits for the network. */
  publish(events: readonly TraceEvent[]): void {
    if (events.length === 0 || !this.redis.isReady()) return;
    const message: Message = { from: this.instanceId, events: [...events] };
    this.redis.client.publish(this.channel, JSON.stringify(message)).catch(() => undefined);
  }

  /** Events stored by other replicas. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }
}

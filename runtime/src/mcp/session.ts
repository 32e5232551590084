/**
 * One MCP session as CRA sees it: the authenticated principal and the CARP session it maps to.
 * The session's current resolution is its latest one, read from the stores every replica shares
 * (the TRACE chain and the resolution store, `domain/latest-resolution.ts`), so a stateless
 * request on any replica sees the same tools and resources (docs/adr/0010-mcp-sessions.md).
 *
 * A long-lived session (stdio, stateful Streamable HTTP) also remembers what its client was last
 * told about tools and resources, and watches the session's TRACE for resolutions made elsewhere
 * (the HTTP API, another replica through the Redis fan-out) to send `list_changed` for them.
 */
import {
  canonicalJson,
  sha256Hex,
  type BundleIndex,
  type CARPResolution,
  type ChainHead,
  type Principal,
  type TraceEvent,
} from '@cra/core';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Cra } from '../domain/cra.js';
import { latestResolution } from '../domain/latest-resolution.js';
import { blockResources } from './resources.js';
import { craTools, grantTables, grantTools, type GrantTools } from './tools.js';

/** What a client was told: digests of the tool list and the resource list. */
export interface Announced {
  tools: string;
  resources: string;
}

/** The session's current resolution and what it offers now. */
export interface Current {
  /** The latest resolution of the session, expired or not. */
  resolution?: CARPResolution;
  /** The same resolution while it is unexpired: its grants are tools, its blocks resources. */
  live?: CARPResolution;
  tables?: GrantTools;
  tools: Tool[];
}

export interface McpSessionInit {
  principal: Principal;
  /** The CARP session; absent for a stateless request without `Mcp-Session-Id` (sessionless). */
  sessionId?: string;
  /** `requester.agent_type` of the CARP requests (the MCP client's name). */
  agentType?: string;
  /** W3C traceparent of the HTTP request carrying the messages. */
  traceparent?: string;
  /** stdio and stateful HTTP: one server for the whole session. */
  longLived?: boolean;
  /** The chain head read with the session record for this request (used by the first lookup). */
  head?: ChainHead | null;
}

export type Notify = (kind: 'tools' | 'resources' | 'prompts') => Promise<void>;

export class McpSession {
  readonly principal: Principal;
  readonly sessionId: string | undefined;
  agentType: string | undefined;
  private traceparentValue: string | undefined;
  readonly longLived: boolean;
  /** Long-lived sessions: the digests the client last saw (undefined until first computed). */
  announced: Announced | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private knownHead: ChainHead | null | undefined;

  constructor(
    private readonly cra: Cra,
    init: McpSessionInit,
    private readonly now: () => number = Date.now,
  ) {
    this.principal = init.principal;
    this.sessionId = init.sessionId;
    this.agentType = init.agentType;
    this.traceparentValue = init.traceparent;
    this.longLived = init.longLived ?? false;
    this.knownHead = init.head;
  }

  /** W3C traceparent of the HTTP request carrying the current messages (the last one seen). */
  get traceparent(): string | undefined {
    return this.traceparentValue;
  }

  setTraceparent(value: string | undefined): void {
    this.traceparentValue = value;
  }

  /** Runs `fn` after every earlier exclusive task of this session (resolves and list checks). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  get index(): BundleIndex {
    return this.cra.bundles.current;
  }

  /** The session's current resolution (none for a sessionless request). */
  async current(): Promise<Current> {
    if (this.sessionId === undefined) return { tools: craTools() };
    const head = this.knownHead;
    this.knownHead = undefined;
    const record = await latestResolution(this.cra.stores, this.sessionId, this.principal.agentId, head);
    return record ? this.offer(record.resolution) : { tools: craTools() };
  }

  /** What a resolution offers now: its grants as tools and blocks as resources while unexpired. */
  offer(resolution: CARPResolution): Current {
    const index = this.index;
    const tables = grantTables(resolution, index);
    const live = Date.parse(resolution.ttl.resolution_expires_at) > this.now() ? resolution : undefined;
    return {
      resolution,
      tables,
      ...(live ? { live } : {}),
      tools: [...craTools(), ...(live ? grantTools(live, index, tables) : [])],
    };
  }

  digests(current: Current): Announced {
    return {
      tools: sha256Hex(canonicalJson(current.tools)),
      resources: sha256Hex(canonicalJson(current.live ? blockResources(current.live) : [])),
    };
  }

  /**
   * Tells the client what changed between `before` and `after` (tools, resources) through
   * `notify`, and remembers `after` as announced.
   */
  async announce(before: Announced, after: Announced, notify: Notify): Promise<void> {
    this.announced = after;
    if (before.tools !== after.tools) await notify('tools');
    if (before.resources !== after.resources) await notify('resources');
  }

  /** What the client saw before a change: remembered (long-lived) or recomputed from the stores. */
  async seen(): Promise<Announced> {
    if (this.announced) return this.announced;
    const digests = this.digests(await this.current());
    if (this.longLived) this.announced = digests;
    return digests;
  }

  /**
   * Long-lived sessions: sends `list_changed` when another surface or replica resolves in this
   * session (a `carp.resolution.completed` event on its chain) or the bundle changes. Returns the
   * function that stops watching.
   */
  watch(
    feed: { subscribe(listener: (events: readonly TraceEvent[]) => void): () => void },
    notify: Notify,
    onError: (err: unknown) => void,
  ): () => void {
    const check = () => {
      this.exclusive(async () => {
        const before = await this.seen();
        await this.announce(before, this.digests(await this.current()), notify);
      }).catch(onError);
    };
    const stopFeed = feed.subscribe((events) => {
      if (events.some((e) => e.session_id === this.sessionId && e.event_type === 'carp.resolution.completed')) check();
    });
    const stopBundle = this.cra.bundles.onSwap(() => {
      notify('prompts').catch(onError);
      check();
    });
    return () => {
      stopFeed();
      stopBundle();
    };
  }
}

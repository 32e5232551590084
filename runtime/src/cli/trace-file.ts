/**
 * A TRACE file as the runtime's read API would show it: the sessions it holds (summarised from
 * their events) and their events. `cra trace visualize` serves these so the viewer reads a file
 * exactly as it reads a runtime. Pure.
 */
import { isCraError, parseJsonl, type ChainHead, type TraceEvent } from '@cra/core';
import { CliError } from './errors.js';

/** The fields of a session record (GET /v1/sessions/{id}) a file can tell. */
export interface FileSession {
  session_id: string;
  agent_id: string;
  agent_type?: string;
  status: 'active' | 'ended' | 'error';
  metadata: Record<string, string>;
  started_at: string;
  ended_at?: string;
  event_count: number;
  head?: ChainHead;
}

/** JSONL, or a JSON array of events (`cra trace export --format json`). */
export function parseTraceText(text: string, file: string): TraceEvent[] {
  try {
    const trimmed = text.trimStart();
    if (!trimmed.startsWith('[')) return parseJsonl(text);
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (err) {
      throw new CliError(`${file}: not valid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(value)) throw new CliError(`${file}: a JSON trace must be an array of events`);
    // One envelope check for both formats: the array's events as JSONL lines (line n = element n-1).
    return parseJsonl(value.map((event) => JSON.stringify(event)).join('\n'));
  } catch (err) {
    if (isCraError(err)) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function summarise(sessionId: string, events: readonly TraceEvent[]): FileSession {
  const started = events.find((e) => e.event_type === 'session.started');
  // The chain's closing event: session.ended, or the catalog's other session.* outcome (an error).
  const ended = events.find((e) => e.event_type.startsWith('session.') && e !== started);
  const first = events[0]!;
  const last = events.at(-1)!;
  const agentType = text(started?.payload['agent_type']);
  return {
    session_id: sessionId,
    agent_id: text(started?.payload['agent_id']) ?? 'unknown',
    ...(agentType ? { agent_type: agentType } : {}),
    status: ended === undefined ? 'active' : ended.event_type === 'session.ended' ? 'ended' : 'error',
    metadata: {},
    started_at: first.timestamp,
    ...(ended ? { ended_at: ended.timestamp } : {}),
    event_count: events.length,
    head: { sequence: last.sequence, event_hash: last.event_hash },
  };
}

export class TraceFile {
  private readonly bySession = new Map<string, TraceEvent[]>();
  readonly sessions: FileSession[];

  constructor(
    readonly name: string,
    readonly events: readonly TraceEvent[],
  ) {
    for (const event of events) {
      const list = this.bySession.get(event.session_id);
      if (list) list.push(event);
      else this.bySession.set(event.session_id, [event]);
    }
    for (const list of this.bySession.values()) list.sort((a, b) => a.sequence - b.sequence);
    // Newest first, like GET /v1/sessions.
    this.sessions = [...this.bySession.entries()]
      .map(([id, list]) => summarise(id, list))
      .sort((a, b) => b.started_at.localeCompare(a.started_at) || a.session_id.localeCompare(b.session_id));
  }

  session(sessionId: string): FileSession | undefined {
    return this.sessions.find((s) => s.session_id === sessionId);
  }

  /** The session's events in sequence order (empty for an unknown session). */
  eventsOf(sessionId: string): TraceEvent[] {
    return this.bySession.get(sessionId) ?? [];
  }
}

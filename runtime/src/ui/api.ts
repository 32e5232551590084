/**
 * The runtime's HTTP API as the viewer uses it: an `openapi-fetch` client typed by the types
 * openapi-typescript generated from runtime/openapi.json (gen/openapi.ts), sending the signed-in
 * key as `Authorization: Bearer`. A CARPError answer becomes an ApiError with its code.
 */
import type { TraceEvent } from '@cra/core/browser';
import createClient from 'openapi-fetch';
import type { components, paths } from './gen/openapi.js';

type Json<T> = T extends { content: { 'application/json': infer B } } ? B : never;

export type SessionPage = Json<paths['/v1/sessions']['get']['responses'][200]>;
export type Session = SessionPage['sessions'][number];
export type SessionStatus = Session['status'];
export type Verification = Json<paths['/v1/traces/{session_id}/verify']['get']['responses'][200]>;
type CarpError = components['schemas']['CARPError'];

/** The largest page GET /v1/traces/{id} answers. */
const EVENT_PAGE = 10_000;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

function failure(response: Response, body: unknown): ApiError {
  const error = (body as Partial<CarpError> | undefined)?.error;
  if (error && typeof error.code === 'string') return new ApiError(response.status, error.code, error.message);
  return new ApiError(response.status, 'HTTP_ERROR', `HTTP ${response.status} ${response.statusText}`.trim());
}

export interface ApiOptions {
  /** The key to send, or null (a local file needs none). */
  key: () => string | null;
  /** Called on a 401, before the ApiError is thrown (the viewer asks for a key again). */
  onUnauthorized: () => void;
}

export class Api {
  private readonly client;

  constructor(private readonly options: ApiOptions) {
    this.client = createClient<paths>({ baseUrl: location.origin });
    this.client.use({
      onRequest: ({ request }) => {
        const key = options.key();
        if (key !== null) request.headers.set('authorization', `Bearer ${key}`);
        return request;
      },
    });
  }

  private check<T>(result: { data?: T; error?: unknown; response: Response }): T {
    if (result.error !== undefined || result.data === undefined) {
      if (result.response.status === 401) this.options.onUnauthorized();
      throw failure(result.response, result.error);
    }
    return result.data;
  }

  async sessions(query: { limit: number; offset: number; status?: SessionStatus }): Promise<SessionPage> {
    return this.check(await this.client.GET('/v1/sessions', { params: { query } }));
  }

  async session(sessionId: string): Promise<Session> {
    return this.check(
      await this.client.GET('/v1/sessions/{session_id}', { params: { path: { session_id: sessionId } } }),
    );
  }

  /** Every event of the session, page by page. */
  async events(sessionId: string): Promise<TraceEvent[]> {
    const events: TraceEvent[] = [];
    let from = 0;
    for (;;) {
      const page = this.check(
        await this.client.GET('/v1/traces/{session_id}', {
          params: { path: { session_id: sessionId }, query: { from_sequence: from, limit: EVENT_PAGE } },
        }),
      );
      // The wire type is TRACE's envelope (CRA-SPEC §6.1), which core types exactly.
      events.push(...(page.events as TraceEvent[]));
      if (page.events.length < EVENT_PAGE || page.next_sequence === undefined) return events;
      from = page.next_sequence;
    }
  }

  async verify(sessionId: string): Promise<Verification> {
    return this.check(
      await this.client.GET('/v1/traces/{session_id}/verify', { params: { path: { session_id: sessionId } } }),
    );
  }

  /** The session as JSONL, exactly as `cra trace export` writes it. */
  async jsonl(sessionId: string): Promise<string> {
    const result = await this.client.GET('/v1/traces/{session_id}', {
      params: { path: { session_id: sessionId }, query: { format: 'jsonl' } },
      parseAs: 'text',
    });
    return this.check(result) as unknown as string;
  }
}

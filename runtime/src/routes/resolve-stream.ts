/**
 * `POST /v1/resolve/stream` (CRA-SPEC §8): the resolve operation answered as Server-Sent Events.
 * Same body, checks and TRACE events as `POST /v1/resolve` (it runs the same ResolveOperation).
 *
 * Refusals found before the decision (authentication, validation, session ownership, unknown
 * atlas, rate limit) are ordinary CARPError responses. The stream opens once the decision is made;
 * its content events follow once the resolution is stored and its TRACE events are durable, so
 * every `grant` an agent sees is executable and every `context` block it receives is on the audit
 * chain. A failure after the stream opened is an `error` event carrying the CARPError envelope.
 */
import { PassThrough } from 'node:stream';
import { CraError, type CARPResolution } from '@cra/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Cra } from '../domain/cra.js';
import { envelope } from '../plugins/errors.js';
import { callContext } from './carp.js';
import { errors, requestBody } from './schemas.js';

export interface ResolveStreamOptions {
  /** A `: ping` comment line every this many milliseconds while the stream is open. */
  heartbeatMs: number;
}

/** SSE event names, in the order a successful stream sends them. */
export const SSE_EVENTS = ['context', 'grant', 'denial', 'decision', 'resolution', 'end'] as const;
export type SseEventName = (typeof SSE_EVENTS)[number] | 'error';

const STREAM_DESCRIPTION = [
  'text/event-stream. Events, each `event: <name>` + one `data:` line of JSON:',
  '`context` (one per context block), `grant` (one per allowed action), `denial` (one per denied action),',
  '`decision` (the decision object), `resolution` (the full CARPResolution, as stored), `end` (`{}`).',
  'They are sent once the resolution is stored and its TRACE events are durable.',
  'A failure after the stream opened is `event: error` with the CARPError envelope, and the stream ends.',
  'Comment lines (`: ping`) keep long streams alive. Refusals before the stream opens are JSON CARPErrors.',
].join(' ');

/** One SSE response: frames written to a stream fastify pipes to the client. */
class SseStream {
  private readonly body = new PassThrough();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(reply: FastifyReply, heartbeatMs: number) {
    reply
      .code(200)
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no')
      .send(this.body);
    // The first bytes flush the headers: the client sees 200 before the resolution is stored.
    this.write(': stream open\n\n');
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), heartbeatMs);
    this.heartbeat.unref();
    // The client went away (fastify destroys the body) or the stream ended: no more pings.
    this.body.once('close', () => clearInterval(this.heartbeat));
  }

  get open(): boolean {
    return !this.body.destroyed && !this.body.writableEnded;
  }

  event(name: SseEventName, data: unknown): void {
    // JSON.stringify never emits a raw line break, so one `data:` line carries the whole value.
    this.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    clearInterval(this.heartbeat);
    if (this.open) this.body.end();
  }

  private write(text: string): void {
    if (this.open) this.body.write(text);
  }
}

function streamResolution(sse: SseStream, resolution: CARPResolution): void {
  for (const block of resolution.context_blocks) sse.event('context', block);
  for (const grant of resolution.allowed_actions) sse.event('grant', grant);
  for (const denial of resolution.denied_actions) sse.event('denial', denial);
  sse.event('decision', resolution.decision);
  sse.event('resolution', resolution);
  sse.event('end', {});
}

function asCraError(request: FastifyRequest, err: unknown): CraError {
  if (err instanceof CraError) {
    if (err.status >= 500) request.log.error({ err }, 'resolve stream failed');
    return err;
  }
  request.log.error({ err }, 'unexpected failure in a resolve stream');
  return new CraError('INTERNAL_ERROR', 'an internal error occurred; see the runtime log');
}

export function resolveStreamRoutes(app: FastifyInstance, cra: Cra, options: ResolveStreamOptions): void {
  app.post(
    '/v1/resolve/stream',
    {
      // CARP bodies are validated by the domain, exactly as for /v1/resolve.
      validatorCompiler: () => () => true,
      schema: {
        tags: ['carp'],
        summary: 'Resolve, answered as Server-Sent Events: context blocks, grants, denials, decision, resolution',
        description: STREAM_DESCRIPTION,
        body: requestBody,
        response: {
          200: {
            description: 'The event stream described above (Content-Type: text/event-stream)',
            content: {
              'text/event-stream': {
                schema: {
                  type: 'string',
                  description:
                    'event: context|grant|denial|decision|resolution|end|error, then data: <JSON>, then a blank line',
                },
              },
            },
          },
          ...errors(400, 401, 403, 404, 409, 413, 429, 500, 503),
        },
      },
    },
    async (request, reply) => {
      const stream: { sse?: SseStream } = {};
      const open = (): SseStream => (stream.sse ??= new SseStream(reply, options.heartbeatMs));
      try {
        const resolution = await cra.resolver.run(callContext(request), request.body, { onDecided: () => open() });
        streamResolution(open(), resolution);
      } catch (err) {
        // Before the stream opened nothing was sent: the error handler answers with a CARPError.
        if (!stream.sse) throw err;
        stream.sse.event('error', envelope(request.body, String(request.id), asCraError(request, err)));
      }
      stream.sse?.end();
      // Resolves when the response has finished (or the client went away).
      return reply;
    },
  );
}

/**
 * Reads and interprets an `http` executor's response: bounded reading of the body stream,
 * JSON-or-text parsing by content type, and the `response.output` JSON Pointer mapping.
 *
 * Decisions:
 * - A JSON media type is `application/json` or any `+json` suffix; everything else is decoded
 *   as text in the declared charset (UTF-8 when absent or unknown).
 * - An empty body is `null` (`application/json`) unless the response declares a non-JSON type,
 *   which gives the empty string.
 * - With `response.output`, the output is an object of the mapped fields, a pointer that finds
 *   nothing giving `null`; a text body can only be reached by the pointer `""`.
 */
import type { CraError } from '@cra/core';
import { getPointer } from './pointer.js';

export interface BodyBytes {
  bytes: Uint8Array;
  /** The stream had more than `limit` bytes; `bytes` holds the first `limit`. */
  exceeded: boolean;
}

/** Reads at most `limit` bytes of `body`, cancelling the stream as soon as it goes beyond. */
export async function readBounded(body: ReadableStream<Uint8Array> | null, limit: number): Promise<BodyBytes> {
  if (body === null) return { bytes: new Uint8Array(0), exceeded: false };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (total + value.byteLength > limit) {
      chunks.push(value.subarray(0, limit - total));
      total = limit;
      await reader.cancel().catch(() => undefined);
      return { bytes: concat(chunks, total), exceeded: true };
    }
    chunks.push(value);
    total += value.byteLength;
  }
  return { bytes: concat(chunks, total), exceeded: false };
}

export interface ParsedBody {
  body: unknown;
  /** Media type without parameters, lowercase. */
  mediaType: string;
  isJson: boolean;
}

/** Parses the body by its content type; throws EXECUTION_FAILED on a JSON type that is not JSON. */
export function parseBody(
  bytes: Uint8Array,
  contentType: string | null,
  failure: (message: string) => CraError,
): ParsedBody {
  const { mediaType, charset } = parseContentType(contentType);
  const isJson = mediaType === 'application/json' || mediaType.endsWith('+json');
  if (bytes.byteLength === 0) {
    if (isJson || mediaType === '') return { body: null, mediaType: 'application/json', isJson: true };
    return { body: '', mediaType, isJson: false };
  }
  const text = decode(bytes, charset);
  if (!isJson) return { body: text, mediaType: mediaType || 'text/plain', isJson: false };
  try {
    return { body: JSON.parse(text) as unknown, mediaType, isJson: true };
  } catch {
    throw failure(`the response says ${mediaType} but is not valid JSON`);
  }
}

/** The mapped output object: each field is the value at its pointer, or null. */
export function mapOutput(
  body: unknown,
  mapping: Record<string, string>,
  failure: (message: string) => CraError,
): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(mapping).map(([field, pointer]) => {
      let value: unknown;
      try {
        value = getPointer(body, pointer);
      } catch {
        throw failure(`response.output.${field} is not a JSON Pointer`);
      }
      return [field, value === undefined ? null : value];
    }),
  );
}

/** Seconds from a Retry-After header (delta-seconds or HTTP-date), if it has one. */
export function retryAfterSeconds(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Up to `limit` bytes of the body as UTF-8 text, for error details; never throws. */
export async function bodyExcerpt(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  try {
    const { bytes } = await readBounded(body, limit);
    return decode(bytes, undefined);
  } catch {
    return '';
  }
}

function parseContentType(header: string | null): { mediaType: string; charset: string | undefined } {
  if (header === null) return { mediaType: '', charset: undefined };
  const [type = '', ...params] = header.split(';');
  let charset: string | undefined;
  for (const param of params) {
    const [name = '', value = ''] = param.split('=');
    if (name.trim().toLowerCase() === 'charset') charset = value.trim().replace(/^"|"$/g, '');
  }
  return { mediaType: type.trim().toLowerCase(), charset };
}

function decode(bytes: Uint8Array, charset: string | undefined): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    // An unknown charset label: UTF-8 is the best guess.
    return new TextDecoder('utf-8').decode(bytes);
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * A resolution as JSON bytes, cheaply: for the Redis stores and for the HTTP answer. Two costs
 * dominate (measured in bench/RESULTS.md, "Where the time goes (production mode)"):
 *
 * - The same answer is serialised more than once: the resolution record (`RedisResolutionStore.put`),
 *   whose `resolution` is a new object holding the same field objects but for `telemetry_link`, the
 *   HTTP answer (the resolve route), and a cache entry when a cache stores values (`RedisCache.set`;
 *   the resolution cache stores a reference to the record instead). Objects
 *   below the top levels are serialised once and their JSON remembered (a WeakMap keyed by the
 *   object, so it lives as long as the object does); the later writes reuse it. Resolutions and
 *   their parts are immutable values in CRA — the domain builds new objects (`{...r, telemetry_link}`), never
 *   mutates one it has handed on — which is what makes reusing the JSON of an object sound.
 * - A string holding any character above U+00FF (atlas texts have `→`, `–`) is a two-byte string
 *   in V8, and encoding a two-byte string to UTF-8 for the socket is several times slower than a
 *   one-byte one (~0.1–0.3 ms for a 50 kB answer on the benchmark machine). The JSON is written
 *   with every non-ASCII character escaped (`\u2192`: the same JSON value), so it is pure ASCII,
 *   and handed to ioredis or the socket as a Buffer made by the fast Latin-1 path (for ASCII, the
 *   UTF-8 bytes).
 *
 * `JSON.parse` of what is stored gives exactly what `JSON.parse(JSON.stringify(value))` gives.
 */
import { asciiJson } from './ascii-json.js';

export { asciiJson };

const remembered = new WeakMap<object, string>();

/** ASCII JSON of an object or array (undefined when it has none), remembered while the object lives. */
function leafJson(value: object): string | undefined {
  let json = remembered.get(value);
  if (json === undefined) {
    const text = JSON.stringify(value) as string | undefined;
    if (text === undefined) return undefined;
    json = asciiJson(text);
    remembered.set(value, json);
  }
  return json;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return (proto === Object.prototype || proto === null) && typeof (value as { toJSON?: unknown }).toJSON !== 'function';
}

/**
 * Appends the ASCII JSON of `value` to `out` in pieces: plain objects in the top `levels` levels
 * field by field (as JSON.stringify does: keys in order, undefined/function/symbol values left
 * out), anything below whole through `leafJson`. False when `value` has no JSON representation.
 */
function pieces(value: unknown, levels: number, out: string[]): boolean {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return false;
  if (typeof value !== 'object' || value === null) {
    out.push(asciiJson(JSON.stringify(value)));
    return true;
  }
  if (levels <= 0 || !isPlainObject(value)) {
    const json = leafJson(value);
    if (json === undefined) return false;
    out.push(json);
    return true;
  }
  out.push('{');
  let first = true;
  for (const key of Object.keys(value)) {
    const mark = out.length;
    out.push(first ? '' : ',', asciiJson(JSON.stringify(key)), ':');
    if (!pieces(value[key], levels - 1, out)) {
      out.length = mark;
      continue;
    }
    first = false;
  }
  out.push('}');
  return true;
}

/**
 * The UTF-8 bytes of the JSON of `value` (ASCII-escaped), serialising the top `levels` levels of
 * plain objects field by field so their members' JSON is shared with earlier and later writes.
 * The pieces are copied straight into one Buffer: pure ASCII, so their Latin-1 encoding is their
 * UTF-8 encoding, and no joined intermediate string is built.
 */
export function jsonBytes(value: unknown, levels = 1): Buffer {
  const out: string[] = [];
  if (!pieces(value, levels, out)) throw new TypeError('value has no JSON representation');
  let length = 0;
  for (const piece of out) length += piece.length;
  const bytes = Buffer.allocUnsafe(length);
  let offset = 0;
  for (const piece of out) offset += bytes.write(piece, offset, 'latin1');
  return bytes;
}

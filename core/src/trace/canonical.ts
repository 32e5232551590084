import canonicalize from 'canonicalize';

/**
 * RFC 8785 (JSON Canonicalization Scheme) serialization. Throws on values JSON cannot carry
 * (NaN, Infinity, lone surrogates, cycles) rather than hashing something lossy.
 *
 * Every TRACE event is hashed over this text, so it runs for every event the runtime emits. The
 * common case goes through the engine's own `JSON.stringify`, several times faster than
 * serialising member by member in JavaScript: for JSON values, RFC 8785 differs from
 * `JSON.stringify` only in member order (sorted by UTF-16 code units) and in refusing what
 * `JSON.stringify` would write lossily (non-finite numbers as `null`, lone surrogates as escapes).
 * So the value is copied with its members inserted in sorted order, checking numbers and strings
 * on the way, and the copy is stringified (numbers: ECMAScript `Number::toString`, which RFC 8785
 * adopts; strings: the same escapes, lowercase `\u00xx`). What a copy cannot reproduce goes to
 * the `canonicalize` package instead, which is also the reference the tests hold this to: a key
 * that looks like an array index (JavaScript lists those first, whatever the insertion order), a
 * `__proto__` key or one with a lone surrogate, `toJSON`, boxed primitives, and nesting deep enough
 * to be a cycle.
 */
export function canonicalJson(value: unknown): string {
  let copy: unknown;
  try {
    copy = sortedCopy(value, 0);
  } catch (err) {
    if (err !== UNSUPPORTED) throw err;
    return reference(value);
  }
  const out = JSON.stringify(copy) as string | undefined;
  if (out === undefined) throw new TypeError('value has no JSON representation');
  return out;
}

function reference(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) throw new TypeError('value has no JSON representation');
  return out;
}

const UNSUPPORTED = Symbol('unsupported by the fast path');
/** Deeper than any event payload; a cycle gets here too, and the reference path reports it. */
const MAX_DEPTH = 64;
/** Keys JavaScript orders numerically before all others (array indices, up to 2^32 - 2). */
const INDEX_LIKE = /^(?:0|[1-9]\d{0,9})$/;

function sortedCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      if (!value.isWellFormed()) throw new TypeError('Lone surrogate is not allowed');
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${value} is not allowed`);
      return value;
    case 'object':
      if (value === null) return null;
      if (depth >= MAX_DEPTH) throw UNSUPPORTED;
      return Array.isArray(value) ? arrayCopy(value, depth) : objectCopy(value, depth);
    default:
      // booleans, and what JSON.stringify leaves out of objects or writes as null in arrays
      // (undefined, functions, symbols); a BigInt makes JSON.stringify throw.
      return value;
  }
}

function arrayCopy(value: readonly unknown[], depth: number): unknown[] {
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') throw UNSUPPORTED;
  const copy = new Array<unknown>(value.length);
  for (let i = 0; i < value.length; i++) copy[i] = sortedCopy(value[i], depth + 1);
  return copy;
}

function objectCopy(value: object, depth: number): Record<string, unknown> {
  const proto = Object.getPrototypeOf(value) as unknown;
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    throw UNSUPPORTED;
  }
  const keys = Object.keys(value);
  for (const key of keys) if (key === '__proto__' || INDEX_LIKE.test(key) || !key.isWellFormed()) throw UNSUPPORTED;
  keys.sort();
  const copy: Record<string, unknown> = {};
  for (const key of keys) copy[key] = sortedCopy((value as Record<string, unknown>)[key], depth + 1);
  return copy;
}

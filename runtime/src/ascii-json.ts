/**
 * JSON text as pure ASCII: every character above U+007F written as a `\uXXXX` escape (a surrogate
 * pair as two), which JSON.parse reads back to the same value.
 *
 * Why: V8 keeps a string holding any character above U+00FF (the atlases' `→`, `–`) as a two-byte
 * string, and measuring (`Buffer.byteLength`) or encoding a two-byte string as UTF-8 — what every
 * socket write of a string does — takes several times longer than for a one-byte string: about
 * 0.1–0.3 ms for a 50 kB resolution on the benchmark machine, per write (bench/RESULTS.md, "Where
 * the time goes (production mode)"). An ASCII text's Latin-1 bytes are its UTF-8 bytes, and
 * `Buffer.from(text, 'latin1')` is a plain narrowing copy.
 */
const NON_ASCII = /[\u0080-\uffff]/;
const NON_ASCII_ALL = /[\u0080-\uffff]/g;

const escapeChar = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

export function asciiJson(json: string): string {
  return NON_ASCII.test(json) ? json.replace(NON_ASCII_ALL, escapeChar) : json;
}

/** True when `text` has a character above U+007F (so `asciiJson` would change it). */
export function hasNonAscii(text: string): boolean {
  return NON_ASCII.test(text);
}

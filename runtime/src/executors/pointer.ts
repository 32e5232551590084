/**
 * RFC 6901 JSON Pointer lookup, used by the http executor's `response.output` mapping.
 * Only own properties are followed, so `/__proto__` or `/constructor` never reach prototypes.
 */

/** Splits a pointer into unescaped reference tokens; throws TypeError when it is malformed. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new TypeError(`JSON Pointer "${pointer}" must be empty or start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~(?![01])/.test(token)) throw new TypeError(`JSON Pointer "${pointer}" has an invalid escape`);
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/;

/** The value at `pointer` inside `document`, or undefined when any step is missing. */
export function getPointer(document: unknown, pointer: string): unknown {
  let current: unknown = document;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(token)) return undefined;
      const index = Number(token);
      if (index >= current.length) return undefined;
      current = current[index];
    } else if (current !== null && typeof current === 'object') {
      if (!Object.hasOwn(current, token)) return undefined;
      current = (current as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return current;
}

/**
 * JSON Pointer (RFC 6901): parse, read, build. Conditions and parameter constraints address
 * action parameters with pointers; validators name the offending member with one.
 */

/** `~` → `~0`, `/` → `~1`. */
export function escapePointerSegment(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Appends reference tokens (escaped) to a pointer: `joinPointer('/a', 'b/c', 0)` → `/a/b~1c/0`. */
export function joinPointer(base: string, ...segments: (string | number)[]): string {
  let out = base;
  for (const segment of segments) out += `/${escapePointerSegment(String(segment))}`;
  return out;
}

/**
 * The reference tokens of a pointer, unescaped; `undefined` when it is not a valid pointer
 * (non-empty and not starting with `/`, or a `~` not followed by `0` or `1`).
 */
export function parsePointer(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  const tokens: string[] = [];
  for (const raw of pointer.slice(1).split('/')) {
    if (/~(?![01])/.test(raw)) return undefined;
    tokens.push(raw.replace(/~1/g, '/').replace(/~0/g, '~'));
  }
  return tokens;
}

export function isValidPointer(pointer: string): boolean {
  return parsePointer(pointer) !== undefined;
}

const ARRAY_INDEX = /^(0|[1-9][0-9]*)$/;

function child(container: unknown, token: string): unknown {
  if (Array.isArray(container)) {
    // `-` (past the end) and anything that is not a canonical index reads nothing.
    return ARRAY_INDEX.test(token) ? container[Number(token)] : undefined;
  }
  if (container !== null && typeof container === 'object' && Object.hasOwn(container, token)) {
    return (container as Record<string, unknown>)[token];
  }
  return undefined;
}

/**
 * The value at `pointer` inside `document`, or `undefined` when a member along the way is
 * missing. Throws `TypeError` for a malformed pointer (validation rejects those up front).
 */
export function getByPointer(document: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens === undefined) throw new TypeError(`invalid JSON Pointer ${JSON.stringify(pointer)}`);
  let current = document;
  for (const token of tokens) {
    current = child(current, token);
    if (current === undefined) return undefined;
  }
  return current;
}

/**
 * Globs for action types, ids, domains and atlas refs: `*` matches any run of characters
 * (dots included, possibly empty), `?` exactly one character; everything else is literal and
 * the whole value must match (anchored). There is no escape character.
 */

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 4096;

export function globToRegExp(glob: string): RegExp {
  const hit = cache.get(glob);
  if (hit) return hit;
  let source = '^';
  for (const char of glob) {
    if (char === '*') source += '[\\s\\S]*';
    else if (char === '?') source += '[\\s\\S]';
    else source += char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  // `u`: `?` is one code point, not one UTF-16 unit.
  const re = new RegExp(`${source}$`, 'u');
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(glob, re);
  return re;
}

export function globMatch(glob: string, value: string): boolean {
  return globToRegExp(glob).test(value);
}

import type { LabelSelector } from '../bundle/types.js';

/** A selector with no names and no labels selects everything. */
export function selects(selector: LabelSelector | undefined, name: string, labels: Record<string, string>): boolean {
  if (selector === undefined) return true;
  if (selector.names !== undefined && selector.names.length > 0 && !selector.names.includes(name)) return false;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  return true;
}

/**
 * Does a `scope.atlases` entry name this atlas? Accepted forms: `name`, `name@version`,
 * `namespace/name`, `namespace/name@version`.
 */
export function scopeEntryMatches(entry: string, atlas: { namespace: string; name: string; version: string }): boolean {
  const [path, version] = entry.split('@', 2) as [string, string | undefined];
  const slash = path.indexOf('/');
  const namespace = slash === -1 ? undefined : path.slice(0, slash);
  const name = slash === -1 ? path : path.slice(slash + 1);
  if (name !== atlas.name) return false;
  if (namespace !== undefined && namespace !== atlas.namespace) return false;
  return version === undefined || version === atlas.version;
}

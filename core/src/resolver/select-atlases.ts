/**
 * Applicable atlases (CRA-SPEC §3 step 2): those the caller may use (identity selector, licence
 * terms), narrowed by `scope.atlases`; of several versions of one atlas the highest is used unless
 * the scope names a version; with context hints, those owning a hinted domain.
 */
import semver from 'semver';
import type { ResolveRequest } from '../carp/types.js';
import type { BundleIndex, IndexedAtlas } from './bundle-index.js';
import { scopeEntryMatches, selects } from './selectors.js';
import type { Principal } from './types.js';

export interface AtlasSelection {
  atlases: IndexedAtlas[];
  excluded: { atlas: string; reason: string }[];
  knownHints: string[];
  unknownHints: string[];
  /** Domains of the atlases the caller may use (for suggestions). */
  availableDomains: string[];
  /** How many atlases the caller may use before hints narrow them. */
  usableCount: number;
}

export function mayUse(atlas: IndexedAtlas, principal: Principal): string | undefined {
  const { terms } = atlas.atlas.spec.license ?? {};
  if (terms?.namespaces && terms.namespaces.length > 0 && !terms.namespaces.includes(principal.namespace)) {
    return `licence terms do not cover namespace ${principal.namespace}`;
  }
  if (terms?.agents && terms.agents.length > 0 && !terms.agents.includes(principal.agentId)) {
    return 'licence terms do not cover this agent';
  }
  if (!selects(principal.atlasSelector, atlas.atlas.name, atlas.atlas.labels)) {
    return "not selected by the agent identity's atlasSelector";
  }
  return undefined;
}

function latestVersions(atlases: IndexedAtlas[]): IndexedAtlas[] {
  const best = new Map<string, IndexedAtlas>();
  for (const a of atlases) {
    const key = `${a.atlas.namespace}/${a.atlas.name}`;
    const current = best.get(key);
    if (!current || semver.gt(a.atlas.spec.version, current.atlas.spec.version)) best.set(key, a);
  }
  return atlases.filter((a) => best.get(`${a.atlas.namespace}/${a.atlas.name}`) === a);
}

export function selectAtlases(index: BundleIndex, principal: Principal, request: ResolveRequest): AtlasSelection {
  const excluded: AtlasSelection['excluded'] = [];
  let usable = index.atlases.filter((a) => {
    const reason = mayUse(a, principal);
    if (reason) excluded.push({ atlas: a.atlas.ref, reason });
    return reason === undefined;
  });
  const scope = request.scope?.atlases;
  if (scope && scope.length > 0) {
    usable = usable.filter((a) => {
      const keep = scope.some((entry) => scopeEntryMatches(entry, { ...a.atlas, version: a.atlas.spec.version }));
      if (!keep) excluded.push({ atlas: a.atlas.ref, reason: 'not in scope.atlases' });
      return keep;
    });
  }
  // Of several versions of one atlas the highest serves, unless a scope entry pins a version.
  const pinned = new Set(
    usable
      .filter((a) =>
        scope?.some((e) => e.includes('@') && scopeEntryMatches(e, { ...a.atlas, version: a.atlas.spec.version })),
      )
      .map((a) => a.atlas.ref),
  );
  const latest = new Set(latestVersions(usable.filter((a) => !pinned.has(a.atlas.ref))));
  usable = usable.filter((a) => {
    const keep = pinned.has(a.atlas.ref) || latest.has(a);
    if (!keep) excluded.push({ atlas: a.atlas.ref, reason: 'a newer version is loaded' });
    return keep;
  });
  const availableDomains = [...new Set(usable.flatMap((a) => [...a.domains.keys()]))].sort();
  const hints = request.task.context_hints ?? [];
  if (hints.length === 0) {
    return {
      atlases: usable,
      excluded,
      knownHints: [],
      unknownHints: [],
      availableDomains,
      usableCount: usable.length,
    };
  }
  const known = new Set(availableDomains);
  const knownHints = hints.filter((h) => known.has(h));
  const unknownHints = hints.filter((h) => !known.has(h));
  const hinted = usable.filter((a) => knownHints.some((h) => a.domains.has(h)));
  return { atlases: hinted, excluded, knownHints, unknownHints, availableDomains, usableCount: usable.length };
}

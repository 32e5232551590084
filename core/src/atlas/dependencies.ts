/**
 * Atlas dependencies: `spec.dependencies[]` {atlas: `<namespace>/<name>` or `<name>` (same
 * namespace), versionRange (SemVer range)}. A dependency is met when a loaded atlas of that
 * namespace and name has a version satisfying the range (`semver.satisfies`, so pre-releases
 * only match ranges that name them).
 */
import semver from 'semver';
import type { LoadedAtlas } from './types.js';

export interface DependencyIssue {
  /** The atlas whose dependency is unmet. */
  atlasRef: string;
  /** JSON Pointer inside that LoadedAtlas, e.g. `/spec/dependencies/0`. */
  path: string;
  message: string;
}

/** `<namespace>/<name>` of a dependency, resolving a bare name in the depending atlas's namespace. */
export function dependencyTarget(dependency: string, namespace: string): { namespace: string; name: string } {
  const slash = dependency.indexOf('/');
  return slash < 0
    ? { namespace, name: dependency }
    : { namespace: dependency.slice(0, slash), name: dependency.slice(slash + 1) };
}

function compareVersions(a: string, b: string): number {
  if (semver.valid(a) !== null && semver.valid(b) !== null) return semver.compare(a, b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Every unmet dependency among `atlases` (each checked against all the others). */
export function checkDependencies(atlases: readonly LoadedAtlas[]): DependencyIssue[] {
  const versions = new Map<string, string[]>();
  for (const atlas of atlases) {
    const key = `${atlas.namespace}/${atlas.name}`;
    versions.set(key, [...(versions.get(key) ?? []), atlas.spec.version]);
  }
  const out: DependencyIssue[] = [];
  for (const atlas of atlases) {
    (atlas.spec.dependencies ?? []).forEach((dep, i) => {
      const target = dependencyTarget(dep.atlas, atlas.namespace);
      const key = `${target.namespace}/${target.name}`;
      const available = versions.get(key) ?? [];
      const range = semver.validRange(dep.versionRange);
      if (range !== null && available.some((v) => semver.satisfies(v, range))) return;
      const found =
        available.length === 0
          ? `no atlas ${key} is loaded`
          : `loaded: ${[...available].sort(compareVersions).join(', ')}`;
      out.push({
        atlasRef: atlas.ref,
        path: `/spec/dependencies/${i}`,
        message: `requires ${key}@${dep.versionRange}; ${range === null ? 'the range is not valid SemVer' : found}`,
      });
    });
  }
  return out;
}

import { describe, expect, it } from 'vitest';
import { checkDependencies, dependencyTarget } from '../src/atlas/dependencies.js';
import type { LoadedAtlas } from '../src/atlas/types.js';
import { atVersion, inNamespace, loadedAtlas, named, withDependency } from './fixtures/builders.js';

const base = (version: string, namespace = 'default') =>
  loadedAtlas(named('base'), atVersion(version), inNamespace(namespace));
const app = (atlas: string, range: string, namespace = 'default') =>
  loadedAtlas(named('app'), inNamespace(namespace), withDependency(atlas, range));

describe('dependencyTarget', () => {
  it.each<[string, string, { namespace: string; name: string }]>([
    ['base', 'team-a', { namespace: 'team-a', name: 'base' }],
    ['shared/base', 'team-a', { namespace: 'shared', name: 'base' }],
  ])('%s from %s', (dep, ns, expected) => {
    expect(dependencyTarget(dep, ns)).toEqual(expected);
  });
});

describe('checkDependencies', () => {
  it.each<[string, LoadedAtlas[]]>([
    ['no dependencies', [loadedAtlas()]],
    ['caret range satisfied', [app('base', '^1.2.0'), base('1.4.0')]],
    ['bare name resolves in the same namespace', [app('base', '1.x', 'team-a'), base('1.0.0', 'team-a')]],
    ['qualified name in another namespace', [app('shared/base', '>=2.0.0', 'team-a'), base('2.3.1', 'shared')]],
    ['any loaded version may satisfy', [app('base', '~1.0.0'), base('2.0.0'), base('1.0.5')]],
    ['pre-release named by the range', [app('base', '>=2.0.0-rc.1'), base('2.0.0-rc.2')]],
  ])('met: %s', (_name, atlases) => {
    expect(checkDependencies(atlases)).toEqual([]);
  });

  it.each<[string, LoadedAtlas[], string]>([
    ['nothing loaded', [app('base', '^1.0.0')], 'requires default/base@^1.0.0; no atlas default/base is loaded'],
    [
      'version out of range',
      [app('base', '^2.0.0'), base('1.9.0'), base('1.10.0')],
      'requires default/base@^2.0.0; loaded: 1.9.0, 1.10.0',
    ],
    [
      'bare name does not cross namespaces',
      [app('base', '*', 'team-a'), base('1.0.0', 'team-b')],
      'requires team-a/base@*; no atlas team-a/base is loaded',
    ],
    [
      'pre-releases do not satisfy plain ranges',
      [app('base', '^2.0.0'), base('2.1.0-beta.1')],
      'requires default/base@^2.0.0; loaded: 2.1.0-beta.1',
    ],
    [
      'invalid range',
      [app('base', 'latest'), base('1.0.0')],
      'requires default/base@latest; the range is not valid SemVer',
    ],
  ])('unmet: %s', (_name, atlases, message) => {
    expect(checkDependencies(atlases)).toEqual([{ atlasRef: atlases[0]!.ref, path: '/spec/dependencies/0', message }]);
  });

  it('reports each unmet dependency at its index', () => {
    const atlas = loadedAtlas(
      named('app'),
      withDependency('base', '^1'),
      withDependency('tools', '^1'),
      withDependency('extra', '^3'),
    );
    const issues = checkDependencies([atlas, base('1.0.0')]);
    expect(issues.map((i) => i.path)).toEqual(['/spec/dependencies/1', '/spec/dependencies/2']);
  });

  it('does not depend on input order', () => {
    const atlases = [
      app('base', '^3'),
      base('1.0.0'),
      loadedAtlas(named('other'), withDependency('app', '^1'), withDependency('gone', '*')),
    ];
    const key = (i: { atlasRef: string; path: string }) => `${i.atlasRef}${i.path}`;
    const forward = checkDependencies(atlases).sort((a, b) => key(a).localeCompare(key(b)));
    const reversed = checkDependencies([...atlases].reverse()).sort((a, b) => key(a).localeCompare(key(b)));
    expect(forward).toHaveLength(2);
    expect(reversed).toEqual(forward);
  });
});

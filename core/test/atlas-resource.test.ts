import { describe, expect, it } from 'vitest';
import {
  ATLAS_KIND,
  atlasFromResource,
  atlasToResource,
  configMapNameFor,
  CRA_API_VERSION,
  DEFAULT_CONFIGMAP_THRESHOLD_BYTES,
  LABEL_ATLAS,
  type ConfigMapResource,
} from '../src/atlas/resource.js';
import { validateAtlasSpec } from '../src/atlas/validate.js';
import { CraError } from '../src/errors.js';
import {
  inNamespace,
  loadedAtlas,
  named,
  pack,
  withContent,
  withLabels,
  withoutPacks,
  withPack,
} from './fixtures/builders.js';

function store(configMaps: ConfigMapResource[]) {
  return (namespace: string, name: string, key: string): string | undefined =>
    configMaps.find((cm) => cm.metadata.namespace === namespace && cm.metadata.name === name)?.data[key];
}

describe('atlasToResource', () => {
  it('wraps the spec in an Atlas resource', () => {
    const loaded = loadedAtlas(inNamespace('team-a'), withLabels({ env: 'prod' }));
    const { atlas, configMaps } = atlasToResource(loaded);
    expect(atlas).toEqual({
      apiVersion: CRA_API_VERSION,
      kind: ATLAS_KIND,
      metadata: { name: 'ops', namespace: 'team-a', labels: { env: 'prod' } },
      spec: loaded.spec,
    });
    expect(configMaps).toEqual([]);
    expect(validateAtlasSpec(atlas.spec, '/spec')).toEqual([]);
  });

  it('omits empty labels', () => {
    expect(atlasToResource(loadedAtlas()).atlas.metadata).toEqual({ name: 'ops', namespace: 'default' });
  });

  it('moves packs above the threshold to ConfigMaps', () => {
    const big = 'x'.repeat(DEFAULT_CONFIGMAP_THRESHOLD_BYTES + 1);
    const atThreshold = 'y'.repeat(DEFAULT_CONFIGMAP_THRESHOLD_BYTES);
    const loaded = loadedAtlas(withPack(pack('big', withContent(big)), pack('edge', withContent(atThreshold))));
    const { atlas, configMaps } = atlasToResource(loaded);
    expect(configMaps).toEqual([
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'ops-ctx-big',
          namespace: 'default',
          labels: { 'app.kubernetes.io/part-of': 'cra', [LABEL_ATLAS]: 'ops', 'cra.dev/pack': 'big' },
        },
        data: { content: big },
      },
    ]);
    expect(atlas.spec.contextPacks?.[1]).toEqual({
      id: 'big',
      domain: 'ops',
      format: 'markdown',
      configMapRef: { name: 'ops-ctx-big', key: 'content' },
    });
    expect(atlas.spec.contextPacks?.[2]?.content).toBe(atThreshold);
    expect(validateAtlasSpec(atlas.spec, '/spec')).toEqual([]);
    expect(loaded.spec.contextPacks?.[1]?.content).toBe(big); // input untouched
  });

  it('measures the threshold in UTF-8 bytes', () => {
    const loaded = loadedAtlas(withPack(pack('emoji', withContent('é'.repeat(6)))));
    expect(atlasToResource(loaded, { configMapThresholdBytes: 11 }).configMaps).toHaveLength(1);
    expect(atlasToResource(loaded, { configMapThresholdBytes: 12 }).configMaps).toHaveLength(0);
  });

  it('refuses a pack no ConfigMap can hold, naming it', () => {
    const loaded = loadedAtlas(withPack(pack('huge', withContent('z'.repeat(1_000_001)))));
    expect(() => atlasToResource(loaded)).toThrow(CraError);
    try {
      atlasToResource(loaded);
    } catch (error) {
      expect((error as CraError).details).toEqual({
        violations: [
          { code: 'INVALID_REQUEST', path: '/spec/contextPacks/1/content', message: 'must be at most 1000000 bytes' },
        ],
      });
    }
  });

  it.each<[string, string, RegExp]>([
    ['guide', 'ops-ctx-guide', /^ops-ctx-guide$/],
    ['run_book', 'ops-ctx-run-book-', /^ops-ctx-run-book-[0-9a-f]{8}$/],
    ['v1.2', 'ops-ctx-v1-2-', /^ops-ctx-v1-2-[0-9a-f]{8}$/],
  ])('ConfigMap name for pack %s is a DNS-1123 subdomain', (packId, prefix, pattern) => {
    const name = configMapNameFor('ops', packId);
    expect(name.startsWith(prefix)).toBe(true);
    expect(name).toMatch(pattern);
  });

  it('distinct pack ids never share a ConfigMap', () => {
    expect(configMapNameFor('ops', 'run_book')).not.toBe(configMapNameFor('ops', 'run.book'));
    expect(configMapNameFor('ops', 'run_book')).not.toBe(configMapNameFor('ops', 'run-book'));
  });
});

describe('atlasFromResource', () => {
  it('round-trips a loaded atlas through the resource and its ConfigMaps', () => {
    const loaded = loadedAtlas(
      named('github-ops'),
      inNamespace('team-a'),
      withLabels({ env: 'prod' }),
      withPack(pack('big', withContent('b'.repeat(300_000)))),
    );
    const { atlas, configMaps } = atlasToResource(loaded);
    expect(atlasFromResource(atlas, store(configMaps))).toEqual({ atlas: loaded });
  });

  it('ignores server-set metadata and status', () => {
    const { atlas } = atlasToResource(loadedAtlas());
    const fromServer = {
      ...atlas,
      metadata: { ...atlas.metadata, uid: 'u', resourceVersion: '7', generation: 2, annotations: { a: 'b' } },
      status: { observedGeneration: 2, conditions: [] },
    };
    expect(atlasFromResource(fromServer, () => undefined)).toEqual({ atlas: loadedAtlas() });
  });

  it('defaults a missing namespace', () => {
    const { atlas } = atlasToResource(loadedAtlas());
    const result = atlasFromResource({ ...atlas, metadata: { name: 'ops' } }, () => undefined);
    expect(result).toMatchObject({ atlas: { namespace: 'default', ref: 'default/ops@1.0.0' } });
  });

  it('keeps an atlas without packs without packs', () => {
    const loaded = loadedAtlas(withoutPacks());
    expect(atlasFromResource(atlasToResource(loaded).atlas, () => undefined)).toEqual({ atlas: loaded });
  });

  type Row = [string, (r: Record<string, unknown>) => void, { path: string; message: RegExp }[]];
  const rows: Row[] = [
    [
      'wrong apiVersion',
      (r) => void (r.apiVersion = 'cra.dev/v1'),
      [{ path: '/apiVersion', message: /must be "cra\.dev\/v1alpha1"/ }],
    ],
    ['wrong kind', (r) => void (r.kind = 'Policy'), [{ path: '/kind', message: /must be "Atlas"/ }]],
    ['no metadata', (r) => void delete r.metadata, [{ path: '/metadata', message: /is required/ }]],
    [
      'bad name',
      (r) => void ((r.metadata as Record<string, unknown>).name = 'Ops'),
      [{ path: '/metadata/name', message: /DNS-1123/ }],
    ],
    [
      'bad label',
      (r) => void ((r.metadata as Record<string, unknown>).labels = { 'bad key!': 'x' }),
      [{ path: '/metadata/labels/bad key!', message: /label key/ }],
    ],
    ['no spec', (r) => void delete r.spec, [{ path: '/spec', message: /is required/ }]],
    [
      'invalid spec',
      (r) => void ((r.spec as Record<string, unknown>).version = 'one'),
      [{ path: '/spec/version', message: /SemVer/ }],
    ],
    [
      'missing ConfigMap',
      (r) => {
        const packs = (r.spec as { contextPacks: Record<string, unknown>[] }).contextPacks;
        delete packs[0]!.content;
        packs[0]!.configMapRef = { name: 'ops-ctx-guide', key: 'content' };
      },
      [
        {
          path: '/spec/contextPacks/0/configMapRef',
          message: /^ConfigMap default\/ops-ctx-guide with key content was not found$/,
        },
      ],
    ],
  ];
  it.each(rows)('%s', (_name, modify, expected) => {
    const resource = structuredClone(atlasToResource(loadedAtlas()).atlas) as unknown as Record<string, unknown>;
    modify(resource);
    const result = atlasFromResource(resource, () => undefined);
    expect('errors' in result).toBe(true);
    if (!('errors' in result)) return;
    expect(result.errors.map((e) => e.path)).toEqual(expected.map((e) => e.path));
    result.errors.forEach((e, i) => expect(e.message).toMatch(expected[i]!.message));
  });

  it('rejects what is not an object', () => {
    expect(atlasFromResource('Atlas', () => undefined)).toEqual({
      errors: [{ path: '', message: 'must be an Atlas resource object' }],
    });
  });
});

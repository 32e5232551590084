/**
 * The translator is a pure function of cluster state: golden-style checks of the bundle and the
 * verdict (Ready + reason + field-level message) of every resource.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  atlasToResource,
  loadLocalAtlas,
  parseAtlasManifest,
  requiredFiles,
  validateBundle,
  type LoadedAtlas,
} from '@cra/core';
import { describe, expect, it } from 'vitest';
import { translate, type ClusterObject, type ClusterState } from '../src/compile/gather.js';

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

function reference(name: string): LoadedAtlas {
  const dir = repo(`atlases/${name}`);
  const parsed = parseAtlasManifest(readFileSync(`${dir}/atlas.yaml`, 'utf8'), 'atlas.yaml');
  if ('errors' in parsed) throw new Error('bad atlas');
  const files = Object.fromEntries(requiredFiles(parsed.manifest).map((f) => [f, readFileSync(`${dir}/${f}`, 'utf8')]));
  const loaded = loadLocalAtlas(parsed.manifest, files);
  if ('errors' in loaded) throw new Error('bad atlas');
  return loaded.atlas;
}

function atlasObject(
  name: string,
  namespace = 'team-a',
  patch: (spec: Record<string, unknown>) => void = () => undefined,
): ClusterObject {
  const { atlas } = atlasToResource({ ...reference(name), namespace, ref: `${namespace}/${name}@1.0.0` });
  const spec = structuredClone(atlas.spec) as unknown as Record<string, unknown>;
  patch(spec);
  return { ...atlas, metadata: { ...atlas.metadata, namespace, generation: 3, uid: `uid-${name}` }, spec };
}

const DIGEST = 'a'.repeat(64);

function state(partial: Partial<ClusterState>): ClusterState {
  return {
    atlases: [],
    policies: [],
    identities: [],
    configMap: () => undefined,
    secret: (ns, name, key) => (ns === 'team-a' && name === 'agent-key' && key === 'digest' ? DIGEST : undefined),
    ...partial,
  };
}

const identity = (name: string, secretName = 'agent-key'): ClusterObject => ({
  apiVersion: 'cra.dev/v1alpha1',
  kind: 'AgentIdentity',
  metadata: { name, namespace: 'team-a', generation: 1 },
  spec: { agentId: name, roles: ['agent'], auth: { apiKeySecretRef: { name: secretName, key: 'digest' } } },
});

describe('translate', () => {
  it('compiles valid resources into a valid bundle and marks each Published', () => {
    const { bundle, verdicts } = translate(
      state({ atlases: [atlasObject('github-ops')], identities: [identity('bot')] }),
    );
    expect(validateBundle(bundle)).toEqual([]);
    expect(bundle.atlases.map((a) => a.ref)).toEqual(['team-a/github-ops@1.0.0']);
    expect(bundle.identities[0]!.apiKeyDigests).toEqual([DIGEST]);
    expect(verdicts.every((v) => v.ready && v.reason === 'Published')).toBe(true);
    expect(verdicts.find((v) => v.kind === 'Atlas')!.ref).toBe('team-a/github-ops@1.0.0');
  });

  it('is deterministic whatever the order of the inputs', () => {
    const a = [atlasObject('github-ops'), atlasObject('customer-support')];
    const one = translate(state({ atlases: a }));
    const two = translate(state({ atlases: [...a].reverse() }));
    expect(two.bundle).toEqual(one.bundle);
  });

  it('keeps an invalid atlas out of the bundle with a field-level message; the others still serve', () => {
    const broken = atlasObject('customer-support', 'team-a', (spec) => {
      spec.version = 'not-semver';
    });
    const { bundle, verdicts } = translate(state({ atlases: [atlasObject('github-ops'), broken] }));
    expect(bundle.atlases.map((a) => a.name)).toEqual(['github-ops']);
    const v = verdicts.find((x) => x.name === 'customer-support')!;
    expect(v).toMatchObject({ ready: false, reason: 'InvalidSpec', generation: 3 });
    expect(v.message).toContain('/spec/version');
  });

  it('reports a missing ConfigMap and a missing or malformed Secret by reason', () => {
    const withRef = atlasObject('github-ops', 'team-a', (spec) => {
      const packs = spec.contextPacks as Record<string, unknown>[];
      delete packs[0]!.content;
      packs[0]!.configMapRef = { name: 'big-pack', key: 'content' };
    });
    const { verdicts } = translate(
      state({
        atlases: [withRef],
        identities: [identity('no-secret', 'missing'), identity('bad-secret', 'plain')],
        secret: (_ns, name) => (name === 'plain' ? 'not-a-digest' : undefined),
      }),
    );
    expect(verdicts.find((v) => v.name === 'github-ops')).toMatchObject({ reason: 'ConfigMapNotFound' });
    expect(verdicts.find((v) => v.name === 'no-secret')).toMatchObject({ reason: 'SecretNotFound' });
    expect(verdicts.find((v) => v.name === 'bad-secret')).toMatchObject({ reason: 'InvalidSecret' });
  });

  it('inlines configMapRef content and leaves resources being deleted out', () => {
    const withRef = atlasObject('github-ops', 'team-a', (spec) => {
      const packs = spec.contextPacks as Record<string, unknown>[];
      delete packs[0]!.content;
      packs[0]!.configMapRef = { name: 'big-pack', key: 'content' };
    });
    const deleting = {
      ...atlasObject('customer-support'),
      metadata: { ...atlasObject('customer-support').metadata!, deletionTimestamp: '2026-01-01T00:00:00Z' },
    };
    const { bundle, verdicts } = translate(
      state({
        atlases: [withRef, deleting],
        configMap: (_ns, name) => (name === 'big-pack' ? 'from a ConfigMap' : undefined),
      }),
    );
    expect(bundle.atlases.map((a) => a.name)).toEqual(['github-ops']);
    expect(bundle.atlases[0]!.spec.contextPacks![0]!.content).toBe('from a ConfigMap');
    expect(verdicts.find((v) => v.name === 'customer-support')).toMatchObject({ ready: false, reason: 'Deleting' });
  });

  it('rejects two identities claiming one agent id, naming the reason', () => {
    const { verdicts } = translate(
      state({
        identities: [
          identity('bot'),
          { ...identity('bot2'), spec: { ...(identity('bot2').spec as object), agentId: 'bot' } },
        ],
      }),
    );
    expect(verdicts.filter((v) => v.kind === 'AgentIdentity').every((v) => v.reason === 'Duplicate')).toBe(true);
  });
});

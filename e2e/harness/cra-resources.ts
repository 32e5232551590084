// CRA custom resources for tests and benchmarks against a control plane: a reference atlas as an
// Atlas resource, and an agent identity authenticated by an API key held in a Secret.
import { createHash } from 'node:crypto';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { atlasToResource, type LoadedAtlas } from '@cra/core';
import { readLocalAtlas } from '../../operator/scripts/gen-crds.js';
import { REPO_ROOT } from './runtime-process.js';

const GROUP = { group: 'cra.dev', version: 'v1alpha1' };

/** `loaded` as an Atlas resource in `namespace` at `version` (default 1.0.0), optionally renamed. */
export function atlasResourceOf(
  loaded: LoadedAtlas,
  options: { namespace: string; version?: string; name?: string },
): Record<string, unknown> {
  const { atlas, configMaps } = atlasToResource({
    ...loaded,
    ...(options.name !== undefined ? { name: options.name } : {}),
    namespace: options.namespace,
    spec: { ...loaded.spec, version: options.version ?? '1.0.0' },
  });
  if (configMaps.length > 0) throw new Error(`${loaded.name} has packs that move to ConfigMaps; create them too`);
  return atlas as unknown as Record<string, unknown>;
}

/** `atlases/<atlas>` of this repository, loaded. */
export function referenceAtlas(atlas: string): Promise<LoadedAtlas> {
  return readLocalAtlas(`${REPO_ROOT}atlases/${atlas}`);
}

/** `atlases/<atlas>` as an Atlas resource (see `atlasResourceOf`). */
export async function referenceAtlasResource(
  atlas: string,
  options: { namespace: string; version?: string; name?: string },
): Promise<Record<string, unknown>> {
  return atlasResourceOf(await referenceAtlas(atlas), options);
}

/** A Secret `name` holding the SHA-256 digest of `key` and an AgentIdentity `name` (role agent) using it. */
export async function createApiKeyIdentity(
  kubeConfig: KubeConfig,
  options: { namespace: string; name: string; key: string },
): Promise<void> {
  const { namespace, name, key } = options;
  const digest = createHash('sha256').update(key).digest('hex');
  await kubeConfig
    .makeApiClient(CoreV1Api)
    .createNamespacedSecret({ namespace, body: { metadata: { name }, stringData: { digest } } });
  await kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...GROUP,
    namespace,
    plural: 'agentidentities',
    body: {
      apiVersion: 'cra.dev/v1alpha1',
      kind: 'AgentIdentity',
      metadata: { name },
      spec: { agentId: name, roles: ['agent'], auth: { apiKeySecretRef: { name, key: 'digest' } } },
    },
  });
}

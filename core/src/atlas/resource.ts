/**
 * Loaded atlas ⇄ Atlas custom resource (`cra atlas publish`, the operator). Packs larger than a
 * threshold move out of the resource into one ConfigMap each (`<atlas>-ctx-<pack>`, key
 * `content`), referenced by `configMapRef`, so the Atlas object stays far below etcd's limits.
 */
import { CraError } from '../errors.js';
import { sha256Hex } from '../hash.js';
import { labelKeyIssues, labelMap, lazyValidator, isDnsLabel, type FieldIssue } from '../structural-schema.js';
import { atlasRef, DEFAULT_NAMESPACE, type AtlasSpec, type ContextPack, type LoadedAtlas } from './types.js';
import { validateAtlasSpec } from './validate.js';

export const CRA_API_VERSION = 'cra.dev/v1alpha1';
export const ATLAS_KIND = 'Atlas';
export const DEFAULT_CONFIGMAP_THRESHOLD_BYTES = 256 * 1024;
/** A ConfigMap holds at most 1 MiB; keep room for its metadata. */
export const MAX_CONFIGMAP_CONTENT_BYTES = 1_000_000;
export const CONFIGMAP_CONTENT_KEY = 'content';

/** Labels set on generated ConfigMaps. */
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_ATLAS = 'cra.dev/atlas';
export const LABEL_PACK = 'cra.dev/pack';
export const PART_OF_VALUE = 'cra';

export interface ResourceMetadata {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
}

export interface AtlasResource {
  apiVersion: typeof CRA_API_VERSION;
  kind: typeof ATLAS_KIND;
  metadata: ResourceMetadata;
  spec: AtlasSpec;
}

export interface ConfigMapResource {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ResourceMetadata;
  data: Record<string, string>;
}

/**
 * `<atlas>-ctx-<pack>`. Pack ids may hold `_` and `.`, which ConfigMap names (DNS-1123
 * subdomains) restrict; such ids are rewritten to `-` and suffixed with a short hash of the
 * id, so distinct packs never share a ConfigMap.
 */
export function configMapNameFor(atlasName: string, packId: string): string {
  const safe = packId.replace(/[^a-z0-9-]/g, '-');
  const suffix = safe === packId ? '' : `-${sha256Hex(packId).slice(0, 8)}`;
  return `${atlasName}-ctx-${safe}${suffix}`;
}

/** The Atlas resource for a loaded atlas, plus the ConfigMaps of its large packs. */
export function atlasToResource(
  loaded: LoadedAtlas,
  options: { configMapThresholdBytes?: number } = {},
): { atlas: AtlasResource; configMaps: ConfigMapResource[] } {
  const threshold = options.configMapThresholdBytes ?? DEFAULT_CONFIGMAP_THRESHOLD_BYTES;
  const spec = structuredClone(loaded.spec);
  const configMaps: ConfigMapResource[] = [];
  spec.contextPacks = spec.contextPacks?.map((pack, i): ContextPack => {
    if (pack.content === undefined) return pack;
    const bytes = Buffer.byteLength(pack.content, 'utf8');
    if (bytes <= threshold) return pack;
    if (bytes > MAX_CONFIGMAP_CONTENT_BYTES) {
      const path = `/spec/contextPacks/${i}/content`;
      throw new CraError(
        'INVALID_REQUEST',
        `pack ${pack.id} is ${bytes} bytes; a ConfigMap holds at most ${MAX_CONFIGMAP_CONTENT_BYTES}`,
        {
          details: {
            violations: [
              { code: 'INVALID_REQUEST', path, message: `must be at most ${MAX_CONFIGMAP_CONTENT_BYTES} bytes` },
            ],
          },
        },
      );
    }
    const name = configMapNameFor(loaded.name, pack.id);
    configMaps.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name,
        namespace: loaded.namespace,
        labels: { [LABEL_PART_OF]: PART_OF_VALUE, [LABEL_ATLAS]: loaded.name, [LABEL_PACK]: pack.id },
      },
      data: { [CONFIGMAP_CONTENT_KEY]: pack.content },
    });
    const { content: _moved, ...rest } = pack;
    return { ...rest, configMapRef: { name, key: CONFIGMAP_CONTENT_KEY } };
  });
  if (spec.contextPacks === undefined) delete spec.contextPacks;
  const metadata: ResourceMetadata = { name: loaded.name, namespace: loaded.namespace };
  if (Object.keys(loaded.labels).length > 0) metadata.labels = { ...loaded.labels };
  return { atlas: { apiVersion: CRA_API_VERSION, kind: ATLAS_KIND, metadata, spec }, configMaps };
}

const validateLabelValues = lazyValidator(labelMap());

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function envelopeIssues(resource: Record<string, unknown>): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (resource.apiVersion !== CRA_API_VERSION)
    out.push({ path: '/apiVersion', message: `must be ${JSON.stringify(CRA_API_VERSION)}` });
  if (resource.kind !== ATLAS_KIND) out.push({ path: '/kind', message: `must be ${JSON.stringify(ATLAS_KIND)}` });
  const metadata = resource.metadata;
  if (!isObject(metadata)) return [...out, { path: '/metadata', message: 'is required' }];
  if (!isDnsLabel(metadata.name))
    out.push({ path: '/metadata/name', message: 'must be a DNS-1123 label (the atlas name)' });
  if (metadata.namespace !== undefined && !isDnsLabel(metadata.namespace)) {
    out.push({ path: '/metadata/namespace', message: 'must be a DNS-1123 label' });
  }
  if (metadata.labels !== undefined) {
    out.push(
      ...validateLabelValues(metadata.labels, '/metadata/labels'),
      ...labelKeyIssues(metadata.labels, '/metadata/labels'),
    );
  }
  if (resource.spec === undefined) out.push({ path: '/spec', message: 'is required' });
  return out;
}

/**
 * An Atlas resource (as read from the API server: extra metadata and `status` are ignored) as
 * a LoadedAtlas, with `configMapRef` packs inlined from `configMapData(namespace, name, key)`.
 */
export function atlasFromResource(
  resource: unknown,
  configMapData: (namespace: string, name: string, key: string) => string | undefined,
): { atlas: LoadedAtlas } | { errors: FieldIssue[] } {
  if (!isObject(resource)) return { errors: [{ path: '', message: 'must be an Atlas resource object' }] };
  const errors = envelopeIssues(resource);
  if (resource.spec !== undefined) errors.push(...validateAtlasSpec(resource.spec, '/spec'));
  if (errors.length > 0) return { errors };
  const metadata = resource.metadata as ResourceMetadata;
  const namespace = metadata.namespace ?? DEFAULT_NAMESPACE;
  const spec = structuredClone(resource.spec) as AtlasSpec;
  spec.contextPacks = spec.contextPacks?.map((pack, i): ContextPack => {
    if (pack.configMapRef === undefined) return pack;
    const { configMapRef: ref, ...rest } = pack;
    const content = configMapData(namespace, ref.name, ref.key);
    if (content === undefined) {
      errors.push({
        path: `/spec/contextPacks/${i}/configMapRef`,
        message: `ConfigMap ${namespace}/${ref.name} with key ${ref.key} was not found`,
      });
      return rest;
    }
    return { ...rest, content };
  });
  if (spec.contextPacks === undefined) delete spec.contextPacks;
  if (errors.length > 0) return { errors };
  return {
    atlas: {
      ref: atlasRef(namespace, metadata.name, spec.version),
      name: metadata.name,
      namespace,
      labels: { ...(metadata.labels ?? {}) },
      spec,
    },
  };
}

/**
 * A loaded atlas as committed resource YAML (`atlases/<name>/resource.yaml`, the Atlas sample):
 * core's `atlasToResource` — the conversion `cra atlas publish` makes — written as ConfigMaps of
 * large packs first, then the Atlas that references them.
 */
import { atlasToResource, type LoadedAtlas } from '@cra/core';
import { toYamlDocuments } from './yaml.js';

export interface AtlasResourceYamlOptions {
  /** A comment put at the top of the file. */
  header?: string;
  /** Leave `metadata.namespace` out, so `kubectl apply -n <ns>` and kustomize choose it. */
  omitNamespace?: boolean;
}

/** The documents (ConfigMaps, then the Atlas) for `loaded`. */
export function atlasResourceDocuments(loaded: LoadedAtlas, options: AtlasResourceYamlOptions = {}): object[] {
  const { atlas, configMaps } = atlasToResource(loaded);
  const docs: { metadata: { namespace?: string } }[] = [...configMaps, atlas];
  if (options.omitNamespace) for (const doc of docs) delete doc.metadata.namespace;
  return docs;
}

export function atlasResourceYaml(loaded: LoadedAtlas, options: AtlasResourceYamlOptions = {}): string {
  return toYamlDocuments(atlasResourceDocuments(loaded, options), options.header);
}

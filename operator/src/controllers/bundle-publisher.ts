/**
 * Publishes the runtime bundle in ConfigMaps of the operator's namespace (core's transport: one
 * ConfigMap, or a manifest and chunks under the 1 MiB object limit), owned by the operator.
 * Chunks are written before the ConfigMap that points at them, stale chunks removed after, so a
 * runtime watching them never assembles a mix of two versions.
 */
import { encodeBundle, type RuntimeBundle } from '@cra/core';
import { apply, ownerReferences, type Owner } from '../k8s/apply.js';
import { statusOf, type Clients } from '../k8s/clients.js';
import {
  ANNOTATION_BUNDLE_VERSION,
  BUNDLE_LABEL,
  LABEL_MANAGED_BY,
  LABEL_PART_OF,
  MANAGED_BY,
} from '../k8s/constants.js';

export interface PublisherOptions {
  namespace: string;
  name: string;
  owner?: Owner;
  maxObjectBytes?: number;
}

export interface Published {
  version: string;
  changed: boolean;
  objects: number;
}

export class BundlePublisher {
  private lastHash: string | undefined;

  constructor(
    private readonly c: Clients,
    private readonly options: PublisherOptions,
  ) {}

  async publish(bundle: RuntimeBundle): Promise<Published> {
    const parts = encodeBundle(bundle, this.options.maxObjectBytes);
    if (this.lastHash === bundle.contentHash) return { version: bundle.version, changed: false, objects: parts.length };
    const { namespace, name } = this.options;
    const labels = { [BUNDLE_LABEL]: name, [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_PART_OF]: 'cra' };
    const ordered = [...parts.filter((p) => p.suffix !== ''), ...parts.filter((p) => p.suffix === '')];
    for (const part of ordered) {
      await apply(this.c, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `${name}${part.suffix}`,
          namespace,
          labels,
          annotations: { [ANNOTATION_BUNDLE_VERSION]: bundle.version },
          ...ownerReferences(this.options.owner),
        },
        ...(part.data ? { data: part.data } : { data: {} }),
        ...(part.binaryData ? { binaryData: part.binaryData } : { binaryData: {} }),
      });
    }
    const wanted = new Set(parts.map((p) => `${name}${p.suffix}`));
    const existing = await this.c.core.listNamespacedConfigMap({ namespace, labelSelector: `${BUNDLE_LABEL}=${name}` });
    for (const cm of existing.items) {
      const cmName = cm.metadata?.name;
      if (cmName && !wanted.has(cmName)) {
        await this.c.core.deleteNamespacedConfigMap({ namespace, name: cmName }).catch((err: unknown) => {
          if (statusOf(err) !== 404) throw err;
        });
      }
    }
    this.lastHash = bundle.contentHash;
    return { version: bundle.version, changed: true, objects: parts.length };
  }

  /** Forget what was published (e.g. after losing and regaining leadership). */
  reset(): void {
    this.lastHash = undefined;
  }
}

/**
 * The translator: cluster state in, runtime bundle and per-resource verdicts out. A pure
 * function — it reads the objects it is given (and ConfigMap/Secret lookups), writes nothing and
 * calls nothing — so the same inputs always give the same bundle (content-hashed, no timestamps).
 */
import {
  atlasFromResource,
  compileBundle,
  validateAgentIdentitySpec,
  validatePolicySpec,
  type AgentIdentitySpec,
  type CompiledIdentity,
  type CompiledPolicy,
  type LoadedAtlas,
  type PolicySpec,
  type RuntimeBundle,
} from '@cra/core';

export const KINDS = ['Atlas', 'Policy', 'AgentIdentity'] as const;
export type Kind = (typeof KINDS)[number];

export interface ClusterObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    generation?: number;
    uid?: string;
    deletionTimestamp?: unknown;
  };
  spec?: unknown;
}

export interface ClusterState {
  atlases: readonly ClusterObject[];
  policies: readonly ClusterObject[];
  identities: readonly ClusterObject[];
  /** ConfigMap `data[key]`, or undefined when the ConfigMap or key is missing. */
  configMap(namespace: string, name: string, key: string): string | undefined;
  /** Secret `data[key]` decoded, or undefined. */
  secret(namespace: string, name: string, key: string): string | undefined;
}

export interface Issue {
  path: string;
  message: string;
}

/** Why a resource is not in the bundle: a condition reason (constant) and field-level issues. */
export const REASONS = {
  published: 'Published',
  invalidSpec: 'InvalidSpec',
  configMapNotFound: 'ConfigMapNotFound',
  secretNotFound: 'SecretNotFound',
  invalidSecret: 'InvalidSecret',
  dependencyNotFound: 'DependencyNotFound',
  duplicate: 'Duplicate',
  deleting: 'Deleting',
} as const;
export type Reason = (typeof REASONS)[keyof typeof REASONS];

export interface Verdict {
  kind: Kind;
  namespace: string;
  name: string;
  generation: number | undefined;
  ready: boolean;
  reason: Reason;
  message: string;
  issues: Issue[];
  /** Atlas only: `<namespace>/<name>@<version>` when published. */
  ref?: string;
  /** Counts shown in the printer columns (Atlas: actions, contextPacks; Policy: rules). */
  counts?: Record<string, number>;
  /** AgentIdentity only: an API-key digest was found. */
  apiKeyConfigured?: boolean;
}

export interface Translation {
  bundle: RuntimeBundle;
  verdicts: Verdict[];
}

const keyOf = (kind: Kind, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

function describe(issues: Issue[]): string {
  const shown = issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.message}`);
  return `${shown.join('; ')}${issues.length > 5 ? `; and ${issues.length - 5} more` : ''}`;
}

function metaOf(o: ClusterObject): { name: string; namespace: string; generation: number | undefined } {
  return {
    name: o.metadata?.name ?? '',
    namespace: o.metadata?.namespace ?? 'default',
    generation: o.metadata?.generation,
  };
}

export function translate(state: ClusterState): Translation {
  const verdicts = new Map<string, Verdict>();
  const reject = (kind: Kind, o: ClusterObject, reason: Reason, issues: Issue[]): void => {
    const { name, namespace, generation } = metaOf(o);
    verdicts.set(keyOf(kind, namespace, name), {
      kind,
      namespace,
      name,
      generation,
      ready: false,
      reason,
      message: describe(issues),
      issues,
    });
  };
  const live = (o: ClusterObject): boolean => o.metadata?.deletionTimestamp === undefined;

  const atlases: LoadedAtlas[] = [];
  for (const o of state.atlases.filter(live)) {
    const { name, namespace } = metaOf(o);
    const clean = {
      apiVersion: o.apiVersion,
      kind: o.kind,
      metadata: { name, namespace, ...(o.metadata?.labels ? { labels: o.metadata.labels } : {}) },
      spec: o.spec,
    };
    const result = atlasFromResource(clean, state.configMap);
    if ('errors' in result) {
      const missingConfigMap = result.errors.some((e) => e.path.endsWith('/configMapRef'));
      reject('Atlas', o, missingConfigMap ? REASONS.configMapNotFound : REASONS.invalidSpec, result.errors);
    } else {
      atlases.push(result.atlas);
    }
  }

  const policies: CompiledPolicy[] = [];
  for (const o of state.policies.filter(live)) {
    const { name, namespace } = metaOf(o);
    const issues = validatePolicySpec(o.spec ?? {}, '/spec');
    if (issues.length > 0) reject('Policy', o, REASONS.invalidSpec, issues);
    else policies.push({ name, namespace, labels: o.metadata?.labels ?? {}, spec: (o.spec ?? {}) as PolicySpec });
  }

  const identities: CompiledIdentity[] = [];
  for (const o of state.identities.filter(live)) {
    const { name, namespace } = metaOf(o);
    const issues = validateAgentIdentitySpec(o.spec ?? {}, '/spec');
    if (issues.length > 0) {
      reject('AgentIdentity', o, REASONS.invalidSpec, issues);
      continue;
    }
    const spec = o.spec as AgentIdentitySpec;
    const ref = spec.auth?.apiKeySecretRef;
    const digests: string[] = [];
    if (ref) {
      const value = state.secret(namespace, ref.name, ref.key)?.trim();
      if (value === undefined) {
        reject('AgentIdentity', o, REASONS.secretNotFound, [
          {
            path: '/spec/auth/apiKeySecretRef',
            message: `Secret ${namespace}/${ref.name} with key ${ref.key} was not found`,
          },
        ]);
        continue;
      }
      if (!/^[0-9a-f]{64}$/.test(value)) {
        reject('AgentIdentity', o, REASONS.invalidSecret, [
          {
            path: '/spec/auth/apiKeySecretRef',
            message: `Secret ${namespace}/${ref.name} key ${ref.key} must hold the lowercase hex SHA-256 digest of the API key, not the key`,
          },
        ]);
        continue;
      }
      digests.push(value);
    }
    identities.push({ name, namespace, spec, apiKeyDigests: digests });
  }

  const { bundle, rejected } = compileBundle({ atlases, policies, identities });
  const byKey = new Map<string, ClusterObject>();
  for (const [kind, list] of [
    ['Atlas', state.atlases],
    ['Policy', state.policies],
    ['AgentIdentity', state.identities],
  ] as const) {
    for (const o of list) byKey.set(keyOf(kind, metaOf(o).namespace, metaOf(o).name), o);
  }
  for (const r of rejected) {
    const kind = r.kind as Kind;
    const o = byKey.get(keyOf(kind, r.namespace, r.name));
    if (!o) continue;
    const dependency = r.errors.some((e) => e.path.includes('/dependencies'));
    const duplicate = r.errors.some((e) => /duplicate|claimed by|shared by/i.test(e.message));
    reject(
      kind,
      o,
      dependency ? REASONS.dependencyNotFound : duplicate ? REASONS.duplicate : REASONS.invalidSpec,
      r.errors,
    );
  }

  const published = new Map(bundle.atlases.map((a) => [`${a.namespace}/${a.name}`, a.ref]));
  for (const [kind, list] of [
    ['Atlas', state.atlases],
    ['Policy', state.policies],
    ['AgentIdentity', state.identities],
  ] as const) {
    for (const o of list) {
      const { name, namespace, generation } = metaOf(o);
      const key = keyOf(kind, namespace, name);
      if (verdicts.has(key)) continue;
      if (!live(o)) {
        verdicts.set(key, {
          kind,
          namespace,
          name,
          generation,
          ready: false,
          reason: REASONS.deleting,
          message: 'being deleted',
          issues: [],
        });
        continue;
      }
      const ref = kind === 'Atlas' ? published.get(`${namespace}/${name}`) : undefined;
      const spec = (o.spec ?? {}) as {
        actions?: unknown[];
        contextPacks?: unknown[];
        rules?: unknown[];
        rateLimits?: unknown[];
      };
      const counts: Record<string, number> | undefined =
        kind === 'Atlas'
          ? { actions: spec.actions?.length ?? 0, contextPacks: spec.contextPacks?.length ?? 0 }
          : kind === 'Policy'
            ? { rules: (spec.rules?.length ?? 0) + (spec.rateLimits?.length ?? 0) }
            : undefined;
      const identity =
        kind === 'AgentIdentity'
          ? bundle.identities.find((i) => i.namespace === namespace && i.name === name)
          : undefined;
      verdicts.set(key, {
        kind,
        namespace,
        name,
        generation,
        ready: true,
        reason: REASONS.published,
        message: `served in runtime bundle ${bundle.version}`,
        issues: [],
        ...(ref ? { ref } : {}),
        ...(counts ? { counts } : {}),
        ...(identity ? { apiKeyConfigured: identity.apiKeyDigests.length > 0 } : {}),
      });
    }
  }
  return { bundle, verdicts: [...verdicts.values()] };
}

/**
 * Validation of the bundle's inputs (Policy and AgentIdentity specs, compiled resources) and of
 * a whole RuntimeBundle: its schema, every resource's semantic checks, cross-resource rules
 * (unique atlas refs, policy and identity names, agent ids and API keys; met dependencies) and
 * the content hash.
 */
import { checkDependencies } from '../atlas/dependencies.js';
import { validateLoadedAtlas } from '../atlas/validate.js';
import type { LoadedAtlas } from '../atlas/types.js';
import { sha256Hex } from '../hash.js';
import { policyRuleSemanticIssues, redactionRuleIssues } from '../policy/validate.js';
import { labelKeyIssues, lazyValidator, type FieldIssue } from '../structural-schema.js';
import { canonicalJson } from '../trace/canonical.js';
import {
  agentIdentitySpecSchema,
  compiledIdentitySchema,
  compiledPolicySchema,
  policySpecSchema,
  runtimeBundleSchema,
} from './schema.js';
import type { CompiledIdentity, CompiledPolicy, RuntimeBundle } from './types.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function items(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/**
 * Schema issues first; a semantic issue is dropped when the schema already reported the same
 * member (one message per problem), and exact duplicates are dropped.
 */
export function mergeIssues(schema: readonly FieldIssue[], semantic: readonly FieldIssue[]): FieldIssue[] {
  const reported = new Set(schema.map((i) => i.path));
  const seen = new Set<string>();
  const out: FieldIssue[] = [];
  for (const issue of [...schema, ...semantic.filter((i) => !reported.has(i.path))]) {
    const key = `${issue.path}\u0000${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(issue);
    }
  }
  return out;
}

function selectorLabelIssues(selector: unknown, path: string): FieldIssue[] {
  return isObject(selector) ? labelKeyIssues(selector.matchLabels, `${path}/matchLabels`) : [];
}

function policySemanticIssues(spec: unknown, basePath: string): FieldIssue[] {
  if (!isObject(spec)) return [];
  const out: FieldIssue[] = [...policyRuleSemanticIssues(spec.rules, `${basePath}/rules`)];
  if (isObject(spec.selector)) {
    out.push(
      ...selectorLabelIssues(spec.selector.atlases, `${basePath}/selector/atlases`),
      ...selectorLabelIssues(spec.selector.agents, `${basePath}/selector/agents`),
    );
  }
  if (isObject(spec.redaction)) {
    items(spec.redaction.rules).forEach((rule, i) => {
      out.push(...redactionRuleIssues(rule, `${basePath}/redaction/rules/${i}`));
    });
  }
  return out;
}

function identitySemanticIssues(spec: unknown, basePath: string): FieldIssue[] {
  if (!isObject(spec)) return [];
  const out: FieldIssue[] = [
    ...labelKeyIssues(spec.labels, `${basePath}/labels`),
    ...selectorLabelIssues(spec.atlasSelector, `${basePath}/atlasSelector`),
  ];
  items(spec.roles).forEach((role, i, roles) => {
    if (roles.indexOf(role) !== i)
      out.push({ path: `${basePath}/roles/${i}`, message: `duplicate role ${JSON.stringify(role)}` });
  });
  return out;
}

const validatePolicySpecSchema = lazyValidator(policySpecSchema);
const validateIdentitySpecSchema = lazyValidator(agentIdentitySpecSchema);
const validateCompiledPolicySchema = lazyValidator(compiledPolicySchema);
const validateCompiledIdentitySchema = lazyValidator(compiledIdentitySchema);
const validateBundleSchema = lazyValidator(runtimeBundleSchema);

/** Every problem with a Policy `spec` (pass `'/spec'` for resource paths). */
export function validatePolicySpec(spec: unknown, basePath = ''): FieldIssue[] {
  return mergeIssues(validatePolicySpecSchema(spec, basePath), policySemanticIssues(spec, basePath));
}

/** Every problem with an AgentIdentity `spec`. */
export function validateAgentIdentitySpec(spec: unknown, basePath = ''): FieldIssue[] {
  return mergeIssues(validateIdentitySpecSchema(spec, basePath), identitySemanticIssues(spec, basePath));
}

/** Every problem with a compiled Policy (paths like `/spec/rules/0/when`). */
export function validateCompiledPolicy(policy: unknown, basePath = ''): FieldIssue[] {
  const labels = isObject(policy) ? labelKeyIssues(policy.labels, `${basePath}/labels`) : [];
  const spec = isObject(policy) ? policy.spec : undefined;
  return mergeIssues(validateCompiledPolicySchema(policy, basePath), [
    ...labels,
    ...policySemanticIssues(spec, `${basePath}/spec`),
  ]);
}

/** Every problem with a compiled AgentIdentity. */
export function validateCompiledIdentity(identity: unknown, basePath = ''): FieldIssue[] {
  const semantic: FieldIssue[] = [];
  if (isObject(identity)) {
    semantic.push(...identitySemanticIssues(identity.spec, `${basePath}/spec`));
    items(identity.apiKeyDigests).forEach((digest, i, all) => {
      if (all.indexOf(digest) !== i)
        semantic.push({ path: `${basePath}/apiKeyDigests/${i}`, message: 'duplicate digest' });
    });
  }
  return mergeIssues(validateCompiledIdentitySchema(identity, basePath), semantic);
}

// ---------------------------------------------------------------------------------------------
// Cross-resource rules, shared by compileBundle (which rejects) and validateBundle (which reports)

/** Indices of the items sharing a key with another item, grouped by key (first-seen order). */
export function duplicateGroups<T>(list: readonly T[], keysOf: (item: T) => readonly string[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  list.forEach((item, i) => {
    for (const key of new Set(keysOf(item))) byKey.set(key, [...(byKey.get(key) ?? []), i]);
  });
  for (const [key, indices] of byKey) if (indices.length < 2) byKey.delete(key);
  return byKey;
}

export const atlasKey = (a: LoadedAtlas): string[] => [a.ref];
export const policyKey = (p: CompiledPolicy): string[] => [`${p.namespace}/${p.name}`];
export const identityKey = (i: CompiledIdentity): string[] => [`${i.namespace}/${i.name}`];
export const agentIdKey = (i: CompiledIdentity): string[] => [i.spec.agentId];
export const apiKeyDigestKeys = (i: CompiledIdentity): string[] => i.apiKeyDigests;

/** `sha256:` + hex SHA-256 of the canonical JSON (RFC 8785) of the bundle's content. */
export function bundleContentHash(content: Pick<RuntimeBundle, 'atlases' | 'policies' | 'identities'>): string {
  return `sha256:${sha256Hex(canonicalJson({ atlases: content.atlases, policies: content.policies, identities: content.identities }))}`;
}

/** The bundle version: the first 12 hex digits of the content hash. */
export function bundleVersion(contentHash: string): string {
  return contentHash.replace(/^sha256:/, '').slice(0, 12);
}

function duplicateIssues<T>(
  list: readonly T[],
  keysOf: (item: T) => readonly string[],
  at: (i: number) => string,
  what: string,
): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const [key, indices] of duplicateGroups(list, keysOf)) {
    for (const i of indices.slice(1))
      out.push({ path: at(i), message: `duplicate ${what} ${JSON.stringify(key)} (also at index ${indices[0]})` });
  }
  return out;
}

function crossIssues(bundle: RuntimeBundle): FieldIssue[] {
  const refIndex = new Map(bundle.atlases.map((a, i) => [a.ref, i]));
  return [
    ...duplicateIssues(bundle.atlases, atlasKey, (i) => `/atlases/${i}/ref`, 'atlas ref'),
    ...duplicateIssues(bundle.policies, policyKey, (i) => `/policies/${i}/name`, 'policy'),
    ...duplicateIssues(bundle.identities, identityKey, (i) => `/identities/${i}/name`, 'identity'),
    ...duplicateIssues(bundle.identities, agentIdKey, (i) => `/identities/${i}/spec/agentId`, 'agent id'),
    ...duplicateIssues(bundle.identities, apiKeyDigestKeys, (i) => `/identities/${i}/apiKeyDigests`, 'API key digest'),
    ...checkDependencies(bundle.atlases).map((d) => ({
      path: `/atlases/${refIndex.get(d.atlasRef) ?? 0}${d.path}`,
      message: d.message,
    })),
  ];
}

/**
 * Every problem with a runtime bundle (e.g. a file the runtime loads): the schema (unknown keys
 * rejected), each atlas, policy and identity, cross-resource rules, and that `contentHash` and
 * `version` match the content. Empty means the bundle can be served as is.
 */
export function validateBundle(value: unknown): FieldIssue[] {
  const schema = validateBundleSchema(value);
  if (!isObject(value)) return schema;
  const semantic: FieldIssue[] = [];
  items(value.atlases).forEach((a, i) => semantic.push(...validateLoadedAtlas(a, `/atlases/${i}`)));
  items(value.policies).forEach((p, i) => semantic.push(...validateCompiledPolicy(p, `/policies/${i}`)));
  items(value.identities).forEach((x, i) => semantic.push(...validateCompiledIdentity(x, `/identities/${i}`)));
  const issues = mergeIssues(schema, semantic);
  if (issues.length > 0) return issues;
  const bundle = value as unknown as RuntimeBundle;
  issues.push(...crossIssues(bundle));
  const expected = bundleContentHash(bundle);
  if (bundle.contentHash !== expected) {
    issues.push({ path: '/contentHash', message: `does not match the content (the content hashes to ${expected})` });
  } else if (bundle.version !== bundleVersion(expected)) {
    issues.push({ path: '/version', message: `must be ${bundleVersion(expected)} (the start of the content hash)` });
  }
  return issues;
}

/**
 * The bundle compiler (CRA-SPEC §1): atlases, policies and identities in, one RuntimeBundle out.
 * Pure and deterministic — the same set of inputs in any order gives the same bundle, byte for
 * byte. An invalid resource never breaks the bundle: it is left out and reported in `rejected`
 * with every problem at its JSON Pointer (relative to the resource, e.g. `/spec/actions/0/schema`),
 * so the operator can set `Ready=False` on it while everything else keeps serving.
 *
 * Rejected: resources that fail validation; atlases whose dependencies are unmet (transitively:
 * an atlas depending on a rejected atlas is rejected too); every copy of a duplicated atlas ref,
 * policy or identity `namespace/name`; every identity sharing an `agentId` or an API key digest
 * with another (authentication would be ambiguous). Two versions of one atlas are fine.
 */
import { checkDependencies } from '../atlas/dependencies.js';
import type { LoadedAtlas } from '../atlas/types.js';
import { validateLoadedAtlas } from '../atlas/validate.js';
import type { FieldIssue } from '../structural-schema.js';
import { BUNDLE_API_VERSION, BUNDLE_KIND } from './schema.js';
import type { CompiledIdentity, CompiledPolicy, RuntimeBundle } from './types.js';
import {
  agentIdKey,
  apiKeyDigestKeys,
  atlasKey,
  bundleContentHash,
  bundleVersion,
  duplicateGroups,
  identityKey,
  policyKey,
  validateCompiledIdentity,
  validateCompiledPolicy,
} from './validate.js';

export type ResourceKind = 'Atlas' | 'Policy' | 'AgentIdentity';

export interface RejectedResource {
  kind: ResourceKind;
  namespace: string;
  name: string;
  errors: FieldIssue[];
}

export interface BundleInput {
  atlases: readonly LoadedAtlas[];
  policies: readonly CompiledPolicy[];
  identities: readonly CompiledIdentity[];
}

export interface CompiledBundle {
  bundle: RuntimeBundle;
  rejected: RejectedResource[];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function field(value: unknown, key: string): string {
  const v = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return typeof v === 'string' ? v : '';
}

/** Plain JSON data: drops `undefined` members, copies so the bundle shares nothing with inputs. */
function plain<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

class Rejections {
  readonly list: RejectedResource[] = [];

  add(kind: ResourceKind, item: unknown, errors: FieldIssue[]): void {
    this.list.push({ kind, namespace: field(item, 'namespace'), name: field(item, 'name'), errors });
  }
}

/** Keeps the valid items; rejects the rest with their issues. */
function validOnly<T>(
  items: readonly T[],
  kind: ResourceKind,
  validate: (item: unknown) => FieldIssue[],
  rejections: Rejections,
): T[] {
  const out: T[] = [];
  for (const item of items) {
    const errors = validate(item);
    if (errors.length === 0) out.push(plain(item));
    else rejections.add(kind, item, errors);
  }
  return out;
}

/** Rejects every item that shares a key with another; returns the rest. */
function withoutDuplicates<T>(
  items: T[],
  keysOf: (item: T) => readonly string[],
  kind: ResourceKind,
  issue: (key: string, count: number) => FieldIssue,
  rejections: Rejections,
): T[] {
  const errorsByIndex = new Map<number, FieldIssue[]>();
  for (const [key, indices] of duplicateGroups(items, keysOf)) {
    for (const i of indices) errorsByIndex.set(i, [...(errorsByIndex.get(i) ?? []), issue(key, indices.length)]);
  }
  return items.filter((item, i) => {
    const errors = errorsByIndex.get(i);
    if (errors) rejections.add(kind, item, errors);
    return errors === undefined;
  });
}

/** Rejects atlases with unmet dependencies until every remaining dependency is met. */
function withDependencies(atlases: LoadedAtlas[], rejections: Rejections): LoadedAtlas[] {
  let remaining = atlases;
  for (;;) {
    const issues = checkDependencies(remaining);
    if (issues.length === 0) return remaining;
    const byRef = new Map<string, FieldIssue[]>();
    for (const { atlasRef, path, message } of issues)
      byRef.set(atlasRef, [...(byRef.get(atlasRef) ?? []), { path, message }]);
    remaining = remaining.filter((atlas) => {
      const errors = byRef.get(atlas.ref);
      if (errors) rejections.add('Atlas', atlas, errors);
      return errors === undefined;
    });
  }
}

function compareRejected(a: RejectedResource, b: RejectedResource): number {
  return (
    compare(a.kind, b.kind) ||
    compare(a.namespace, b.namespace) ||
    compare(a.name, b.name) ||
    compare(JSON.stringify(a.errors), JSON.stringify(b.errors))
  );
}

/** Compiles the inputs into a runtime bundle (see the header). Never throws on bad resources. */
export function compileBundle(input: BundleInput): CompiledBundle {
  const rejections = new Rejections();

  let atlases = validOnly(input.atlases, 'Atlas', (a) => validateLoadedAtlas(a), rejections);
  atlases = withoutDuplicates(
    atlases,
    atlasKey,
    'Atlas',
    (ref, n) => ({ path: '/ref', message: `duplicate atlas ref ${ref} (${n} atlases have it)` }),
    rejections,
  );
  atlases = withDependencies(atlases, rejections);

  let policies = validOnly(input.policies, 'Policy', (p) => validateCompiledPolicy(p), rejections);
  policies = withoutDuplicates(
    policies,
    policyKey,
    'Policy',
    (key, n) => ({ path: '/name', message: `duplicate policy ${key} (${n} policies have it)` }),
    rejections,
  );

  let identities = validOnly(input.identities, 'AgentIdentity', (x) => validateCompiledIdentity(x), rejections);
  identities = withoutDuplicates(
    identities,
    identityKey,
    'AgentIdentity',
    (key, n) => ({ path: '/name', message: `duplicate identity ${key} (${n} identities have it)` }),
    rejections,
  );
  identities = withoutDuplicates(
    identities,
    agentIdKey,
    'AgentIdentity',
    (id, n) => ({ path: '/spec/agentId', message: `agent id ${JSON.stringify(id)} is claimed by ${n} identities` }),
    rejections,
  );
  identities = withoutDuplicates(
    identities,
    apiKeyDigestKeys,
    'AgentIdentity',
    (_digest, n) => ({ path: '/apiKeyDigests', message: `an API key digest is shared by ${n} identities` }),
    rejections,
  );

  atlases.sort((a, b) => compare(a.ref, b.ref));
  policies.sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
  identities.sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));

  const contentHash = bundleContentHash({ atlases, policies, identities });
  return {
    bundle: {
      apiVersion: BUNDLE_API_VERSION,
      kind: BUNDLE_KIND,
      version: bundleVersion(contentHash),
      contentHash,
      atlases,
      policies,
      identities,
    },
    rejected: rejections.list.sort(compareRejected),
  };
}

/**
 * Everything the resolver needs from a bundle, computed once per bundle load so that a resolve
 * does no hashing of pack content and no re-tokenising.
 */
import type { ContentType } from '../carp/types.js';
import type { AtlasAction, Domain, LoadedAtlas } from '../atlas/types.js';
import type { CompiledIdentity, CompiledPolicy, RuntimeBundle } from '../bundle/types.js';
import { estimateTokens, sha256Hex } from '../hash.js';
import type { Condition, PolicyRule, RuleSource } from '../policy/types.js';

export interface IndexedPack {
  id: string;
  atlasRef: string;
  domain: string;
  format: ContentType;
  content: string;
  contentHash: string;
  /** The first `PREVIEW_CHARS` characters of `content` (evidence `content_preview`), cut once. */
  preview: string;
  tokens: number;
  ttlSeconds: number;
  priority: number;
  tags: string[];
  evidenceSources: string[];
  /** Words of id, domain and tags, for goal overlap scoring. */
  words: ReadonlySet<string>;
}

export interface IndexedAtlas {
  atlas: LoadedAtlas;
  domains: ReadonlyMap<string, Domain>;
  packs: IndexedPack[];
  actions: AtlasAction[];
  source: RuleSource;
}

export interface IndexedPolicy {
  policy: CompiledPolicy;
  source: RuleSource;
}

export interface BundleIndex {
  bundle: RuntimeBundle;
  version: string;
  atlases: IndexedAtlas[];
  policies: IndexedPolicy[];
  identities: ReadonlyMap<string, CompiledIdentity>;
  /** Some rule reads the clock: resolutions must not be cached across time windows. */
  timeSensitive: boolean;
}

const DEFAULT_PACK_TTL_SECONDS = 3600;

/** Characters of a pack's content that its evidence records quote. */
export const PREVIEW_CHARS = 200;

/** Words that say nothing about a topic; they never count toward a pack's score. */
const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an and are as at be but by for from has have i in into is it its me my not of on or our please ' +
    'should so that the their them then there these this to us was we what when where which who will ' +
    'with you your'
  ).split(' '),
);

export function wordsOf(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 1 && !STOP_WORDS.has(w));
}

function indexPack(atlas: LoadedAtlas, pack: NonNullable<LoadedAtlas['spec']['contextPacks']>[number]): IndexedPack {
  const content = pack.content ?? '';
  const tags = pack.tags ?? [];
  return {
    id: pack.id,
    atlasRef: atlas.ref,
    domain: pack.domain,
    format: pack.format ?? 'markdown',
    content,
    contentHash: sha256Hex(content),
    preview: content.slice(0, PREVIEW_CHARS),
    tokens: estimateTokens(content),
    ttlSeconds: pack.ttlSeconds ?? DEFAULT_PACK_TTL_SECONDS,
    priority: pack.priority ?? 0,
    tags,
    evidenceSources: pack.evidenceSources ?? [],
    words: new Set([...wordsOf(pack.id), ...wordsOf(pack.domain), ...tags.flatMap(wordsOf)]),
  };
}

function policyRules(policy: CompiledPolicy): PolicyRule[] {
  const rules = [...(policy.spec.rules ?? [])];
  (policy.spec.rateLimits ?? []).forEach((limit, i) => {
    rules.push({
      id: `rate-limit-${i}`,
      effect: 'rate_limit',
      params: { requests: limit.requests, windowSeconds: limit.windowSeconds, scope: limit.scope ?? 'agent' },
      description: 'rate limit from spec.rateLimits',
    });
  });
  if (policy.spec.redaction && policy.spec.redaction.rules.length > 0) {
    rules.push({ id: 'redaction', effect: 'redact', params: { rules: policy.spec.redaction.rules } });
  }
  return rules;
}

export function conditionUsesTime(condition: Condition | undefined): boolean {
  if (condition === undefined) return false;
  if ('time' in condition) return true;
  if ('all' in condition) return condition.all.some(conditionUsesTime);
  if ('any' in condition) return condition.any.some(conditionUsesTime);
  if ('not' in condition) return conditionUsesTime(condition.not);
  return false;
}

export function indexBundle(bundle: RuntimeBundle): BundleIndex {
  const atlases = bundle.atlases.map((atlas): IndexedAtlas => ({
    atlas,
    domains: new Map(atlas.spec.domains.map((d) => [d.id, d])),
    packs: (atlas.spec.contextPacks ?? []).map((p) => indexPack(atlas, p)),
    actions: atlas.spec.actions ?? [],
    source: {
      id: `atlas:${atlas.ref}`,
      name: atlas.name,
      version: atlas.spec.version,
      atlasRef: atlas.ref,
      rules: atlas.spec.policies ?? [],
    },
  }));
  const policies = bundle.policies.map((policy): IndexedPolicy => ({
    policy,
    source: {
      id: `policy:${policy.namespace}/${policy.name}`,
      name: policy.name,
      version: '1',
      rules: policyRules(policy),
    },
  }));
  const allRules = [...atlases.map((a) => a.source), ...policies.map((p) => p.source)].flatMap((s) => s.rules);
  return {
    bundle,
    version: bundle.version,
    atlases,
    policies,
    identities: new Map(bundle.identities.map((i) => [i.spec.agentId, i])),
    timeSensitive: allRules.some((r) => conditionUsesTime(r.when)),
  };
}

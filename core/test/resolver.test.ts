/**
 * The resolver (CRA-SPEC §3): `planResolution` + `materializeResolution` over small built
 * bundles, with deterministic ids and a fixed clock; `reissueResolution` and `cacheKeyParts`.
 */
import { describe, expect, it } from 'vitest';
import type { LoadedAtlas } from '../src/atlas/types.js';
import type { CompiledIdentity, CompiledPolicy } from '../src/bundle/types.js';
import { carpResolutionSchema } from '../src/carp/schemas.js';
import type { CARPResolution, Constraint, ResolveRequest } from '../src/carp/types.js';
import { CraError } from '../src/errors.js';
import { sha256Hex } from '../src/hash.js';
import { isoTime, isUuidV7, sequentialIds } from '../src/ids.js';
import type { BundleIndex } from '../src/resolver/bundle-index.js';
import { scorePack } from '../src/resolver/context.js';
import { materializeResolution } from '../src/resolver/materialize.js';
import { cacheKeyParts, planResolution, type ResolutionPlan } from '../src/resolver/plan.js';
import { reissueResolution } from '../src/resolver/reissue.js';
import type { Principal, ResolverDefaults } from '../src/resolver/types.js';
import { canonicalJson } from '../src/trace/canonical.js';
import { createAjv } from '../src/validation.js';
import {
  action,
  atVersion,
  bundleIndex,
  domain,
  fromAgent,
  hints,
  identity,
  inDomain,
  inNamespace,
  inScope,
  loadedAtlas,
  MONDAY_NOON_UTC,
  named,
  pack,
  policy,
  principal,
  resolveRequest,
  risk,
  riskTier,
  rule,
  set,
  withAction,
  withContent,
  withDomain,
  withLabels,
  withoutActions,
  withoutPacks,
  withPack,
  withPolicy,
  type AtlasModifier,
} from './fixtures/builders.js';

const NOW = MONDAY_NOON_UTC;
const TELEMETRY = { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), events_emitted: 0 };
const ALLOW_ALL = rule('allow-all', 'allow');
const validResolution = createAjv().compile(carpResolutionSchema);

interface Resolved {
  plan: ResolutionPlan;
  resolution: CARPResolution;
}

function resolve(
  index: BundleIndex,
  request: ResolveRequest,
  who: Principal = principal(),
  defaults?: Partial<ResolverDefaults>,
): Resolved {
  const plan = planResolution({ request, index, principal: who, now: NOW, ...(defaults ? { defaults } : {}) });
  const { resolution } = materializeResolution({ plan, request, ids: sequentialIds(), now: NOW, telemetry: TELEMETRY });
  return { plan, resolution };
}

function selected(plan: ResolutionPlan): string[] {
  const step = plan.steps.find((s) => s.type === 'carp.atlas.selected');
  return (step?.payload.atlases ?? []) as string[];
}

const packRefs = (r: CARPResolution): string[] => r.context_blocks.map((b) => b.pack_ref);
const grantIds = (r: CARPResolution): string[] => r.allowed_actions.map((g) => g.atlas_action_id);
const denialIds = (r: CARPResolution): string[] => r.denied_actions.map((d) => d.atlas_action_id);

/** An atlas whose own policy allows every action. */
function open(...modifiers: AtlasModifier[]): LoadedAtlas {
  return loadedAtlas(withPolicy(ALLOW_ALL), ...modifiers);
}

/** Content of exactly `tokens` estimated tokens (one per four bytes). */
function tokens(n: number): string {
  return 'x'.repeat(n * 4);
}

function thrown(fn: () => unknown): CraError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CraError);
    return error as CraError;
  }
  throw new Error('expected a CraError');
}

// ---------------------------------------------------------------------------------------------

describe('atlas selection (§3 step 2)', () => {
  const licence = (terms: { namespaces?: string[]; agents?: string[] }): AtlasModifier =>
    set((m) => {
      m.license = { type: 'enterprise', terms };
    });

  interface Row {
    name: string;
    atlases: LoadedAtlas[];
    who?: Principal;
    scope?: string[];
    expected: string[];
  }
  const rows: Row[] = [
    {
      name: 'every usable atlas, the highest loaded version of each',
      atlases: [open(named('alpha')), open(named('alpha'), atVersion('2.0.0')), open(named('bravo'))],
      expected: ['default/alpha@2.0.0', 'default/bravo@1.0.0'],
    },
    {
      name: 'highest by SemVer, not by string order',
      atlases: [open(named('alpha'), atVersion('1.9.0')), open(named('alpha'), atVersion('1.10.0'))],
      expected: ['default/alpha@1.10.0'],
    },
    {
      name: 'one version per namespace/name: the same name in two namespaces is two atlases',
      atlases: [open(named('alpha')), open(named('alpha'), inNamespace('team-a'), atVersion('0.1.0'))],
      expected: ['default/alpha@1.0.0', 'team-a/alpha@0.1.0'],
    },
    {
      name: 'identity atlasSelector by name',
      atlases: [open(named('alpha')), open(named('bravo'))],
      who: principal((p) => void (p.atlasSelector = { names: ['bravo'] })),
      expected: ['default/bravo@1.0.0'],
    },
    {
      name: 'identity atlasSelector by labels',
      atlases: [open(named('alpha'), withLabels({ tier: 'gold' })), open(named('bravo'), withLabels({ tier: 'tin' }))],
      who: principal((p) => void (p.atlasSelector = { matchLabels: { tier: 'gold' } })),
      expected: ['default/alpha@1.0.0'],
    },
    {
      name: 'licence terms: a namespace not covered excludes the atlas',
      atlases: [open(named('alpha'), licence({ namespaces: ['team-a'] })), open(named('bravo'))],
      expected: ['default/bravo@1.0.0'],
    },
    {
      name: "licence terms: the caller's namespace is covered",
      atlases: [open(named('alpha'), licence({ namespaces: ['team-a'] })), open(named('bravo'))],
      who: principal((p) => void (p.namespace = 'team-a')),
      expected: ['default/alpha@1.0.0', 'default/bravo@1.0.0'],
    },
    {
      name: 'licence terms: another agent only',
      atlases: [open(named('alpha'), licence({ agents: ['agent-2'] })), open(named('bravo'))],
      expected: ['default/bravo@1.0.0'],
    },
    {
      name: 'licence terms: this agent',
      atlases: [open(named('alpha'), licence({ agents: ['agent-1', 'agent-2'] })), open(named('bravo'))],
      expected: ['default/alpha@1.0.0', 'default/bravo@1.0.0'],
    },
    {
      name: 'licence of the newest version excludes it: the newest usable version serves',
      atlases: [open(named('alpha')), open(named('alpha'), atVersion('2.0.0'), licence({ agents: ['agent-2'] }))],
      expected: ['default/alpha@1.0.0'],
    },
    {
      name: 'scope.atlases by name',
      atlases: [open(named('alpha')), open(named('bravo'))],
      scope: ['bravo'],
      expected: ['default/bravo@1.0.0'],
    },
    {
      name: 'scope.atlases name@version pins an older version',
      atlases: [open(named('alpha')), open(named('alpha'), atVersion('2.0.0'))],
      scope: ['alpha@1.0.0'],
      expected: ['default/alpha@1.0.0'],
    },
    {
      name: 'scope.atlases namespace/name picks that namespace',
      atlases: [open(named('alpha')), open(named('alpha'), inNamespace('team-a'))],
      scope: ['team-a/alpha'],
      expected: ['team-a/alpha@1.0.0'],
    },
    {
      name: 'scope.atlases namespace/name@version',
      atlases: [open(named('alpha')), open(named('alpha'), atVersion('2.0.0')), open(named('bravo'))],
      scope: ['default/alpha@2.0.0', 'bravo'],
      expected: ['default/alpha@2.0.0', 'default/bravo@1.0.0'],
    },
    {
      name: 'scope.atlases cannot widen what the identity may use',
      atlases: [open(named('alpha')), open(named('bravo'))],
      who: principal((p) => void (p.atlasSelector = { names: ['alpha'] })),
      scope: ['alpha', 'bravo'],
      expected: ['default/alpha@1.0.0'],
    },
  ];

  it.each(rows)('$name', ({ atlases, who, scope, expected }) => {
    const index = bundleIndex({ atlases });
    const request = resolveRequest('look around', ...(scope ? [inScope({ atlases: scope })] : []));
    const { plan, resolution } = resolve(index, request, who);
    expect(selected(plan)).toEqual(expected);
    expect([...new Set(resolution.context_blocks.map((b) => b.atlas_ref))].sort()).toEqual(expected);
    expect([...new Set(resolution.allowed_actions.map((g) => g.atlas_ref))].sort()).toEqual(expected);
  });

  it('reports why each atlas was left out', () => {
    const index = bundleIndex({
      atlases: [
        open(named('alpha')),
        open(named('alpha'), atVersion('2.0.0')),
        open(named('bravo'), licence({ agents: ['agent-2'] })),
      ],
    });
    const step = planResolution({ request: resolveRequest('x'), index, principal: principal(), now: NOW }).steps[0]!;
    expect(step.type).toBe('carp.atlas.selected');
    expect(step.payload.excluded).toEqual([
      { atlas: 'default/bravo@1.0.0', reason: 'licence terms do not cover this agent' },
      { atlas: 'default/alpha@1.0.0', reason: 'a newer version is loaded' },
    ]);
  });

  // BUG (select-atlases.ts, selectAtlases): with scope.atlases, latestVersions() is skipped, so an
  // unversioned entry (`name` or `ns/name`) selects EVERY loaded version of the atlas and the
  // resolution carries duplicate packs and grants. Only `name@version` pins a version.
  it('scope.atlases `name` (no version) still uses only the highest loaded version', () => {
    const index = bundleIndex({ atlases: [open(named('alpha')), open(named('alpha'), atVersion('2.0.0'))] });
    for (const entry of ['alpha', 'default/alpha']) {
      const { plan } = resolve(index, resolveRequest('x', inScope({ atlases: [entry] })));
      expect(selected(plan)).toEqual(['default/alpha@2.0.0']);
    }
  });

  describe('ATLAS_NOT_FOUND when nothing is usable', () => {
    const atlases = [
      open(named('alpha')),
      open(
        named('bravo'),
        set((m) => void (m.license = { type: 'paid', terms: { agents: ['agent-2'] } })),
      ),
    ];
    const cases: [string, ResolveRequest, Principal][] = [
      [
        'the identity selects nothing',
        resolveRequest('x'),
        principal((p) => void (p.atlasSelector = { names: ['zulu'] })),
      ],
      ['scope names an atlas that is not loaded', resolveRequest('x', inScope({ atlases: ['zulu'] })), principal()],
      [
        'scope names a version that is not loaded',
        resolveRequest('x', inScope({ atlases: ['alpha@9.9.9'] })),
        principal(),
      ],
      [
        'scope names only an atlas the licence forbids',
        resolveRequest('x', inScope({ atlases: ['bravo'] })),
        principal(),
      ],
      [
        'the identity selects only an atlas licensed to another agent',
        resolveRequest('x', inScope({ atlases: ['bravo', 'alpha'] })),
        principal((p) => void (p.atlasSelector = { names: ['bravo'] })),
      ],
    ];
    it.each(cases)('%s', (_name, request, who) => {
      const index = bundleIndex({ atlases });
      const error = thrown(() => planResolution({ request, index, principal: who, now: NOW }));
      expect(error.code).toBe('ATLAS_NOT_FOUND');
      expect(error.status).toBe(404);
      expect(error.details).toMatchObject({ scope_atlases: request.scope?.atlases ?? [] });
    });

    it('an empty bundle', () => {
      const error = thrown(() =>
        planResolution({
          request: resolveRequest('x'),
          index: bundleIndex({ atlases: [] }),
          principal: principal(),
          now: NOW,
        }),
      );
      expect(error.code).toBe('ATLAS_NOT_FOUND');
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('context hints (§3 steps 2–4)', () => {
  const alpha = open(
    named('alpha'),
    withDomain(domain('db', 'medium')),
    withPack(pack('schema-guide', inDomain('db'))),
    withAction(action('migrate', inDomain('db'), risk('medium'))),
  );
  const bravo = open(
    named('bravo'),
    set((m) => void (m.domains = [domain('net')])),
    withoutPacks(),
    withPack(pack('net-guide', inDomain('net'))),
    withoutActions(),
    withAction(action('route', inDomain('net'))),
  );
  const index = bundleIndex({ atlases: [alpha, bravo] });

  it('no hints: every pack and action of every applicable atlas', () => {
    const { resolution } = resolve(index, resolveRequest('x', riskTier('medium')));
    expect(packRefs(resolution).sort()).toEqual(['guide', 'net-guide', 'schema-guide']);
    expect(grantIds(resolution).sort()).toEqual(['deploy', 'migrate', 'route']);
  });

  it('a known hint keeps only the atlases owning it, and only that domain of them', () => {
    const { plan, resolution } = resolve(index, resolveRequest('x', riskTier('medium'), hints('db')));
    expect(selected(plan)).toEqual(['default/alpha@1.0.0']);
    expect(packRefs(resolution)).toEqual(['schema-guide']);
    expect(grantIds(resolution)).toEqual(['migrate']);
    expect(resolution.denied_actions).toEqual([]);
    expect(resolution.decision).toEqual({ type: 'allow' });
    expect(resolution.warnings).toBeUndefined();
  });

  it('known hints in two atlases keep both', () => {
    const { plan, resolution } = resolve(index, resolveRequest('x', riskTier('medium'), hints('net', 'db')));
    expect(selected(plan)).toEqual(['default/alpha@1.0.0', 'default/bravo@1.0.0']);
    expect(packRefs(resolution).sort()).toEqual(['net-guide', 'schema-guide']);
    expect(grantIds(resolution).sort()).toEqual(['migrate', 'route']);
  });

  it('only unknown hints: insufficient_context listing exactly the unknown ones, nothing else', () => {
    const { resolution } = resolve(index, resolveRequest('x', hints('payments', 'hr')));
    expect(resolution.decision).toEqual({
      type: 'insufficient_context',
      missing_domains: ['payments', 'hr'],
      suggestion: 'known domains: db, net, ops',
    });
    expect(resolution.context_blocks).toEqual([]);
    expect(resolution.allowed_actions).toEqual([]);
    expect(resolution.denied_actions).toEqual([]);
    expect(resolution.evidence).toEqual([]);
    expect(resolution.warnings).toBeUndefined();
    expect(validResolution(resolution)).toBe(true);
  });

  it('a domain of an atlas the caller may not use counts as unknown', () => {
    const who = principal((p) => void (p.atlasSelector = { names: ['bravo'] }));
    const { resolution } = resolve(index, resolveRequest('x', hints('db')), who);
    expect(resolution.decision).toMatchObject({ type: 'insufficient_context', missing_domains: ['db'] });
  });

  it('mixed hints: proceeds with the known ones and warns UNKNOWN_CONTEXT_HINTS naming the unknown ones', () => {
    const { resolution } = resolve(index, resolveRequest('x', riskTier('medium'), hints('payments', 'db', 'hr')));
    expect(resolution.decision).toEqual({ type: 'allow' });
    expect(packRefs(resolution)).toEqual(['schema-guide']);
    expect(grantIds(resolution)).toEqual(['migrate']);
    expect(resolution.warnings).toEqual([
      {
        code: 'UNKNOWN_CONTEXT_HINTS',
        message: 'context hints name no known domain: payments, hr',
        details: { hints: ['payments', 'hr'] },
      },
    ]);
  });

  it('a known domain with nothing grantable is an allow with context and no grants', () => {
    const { resolution } = resolve(index, resolveRequest('x', riskTier('low'), hints('db')));
    expect(resolution.decision).toEqual({ type: 'allow' });
    expect(packRefs(resolution)).toEqual(['schema-guide']);
    expect(resolution.allowed_actions).toEqual([]);
    expect(denialIds(resolution)).toEqual(['migrate']);
  });

  it('scope.domains narrows packs and actions like a hint', () => {
    const { resolution } = resolve(index, resolveRequest('x', riskTier('medium'), inScope({ domains: ['net'] })));
    expect(packRefs(resolution)).toEqual(['net-guide']);
    expect(grantIds(resolution)).toEqual(['route']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('context scoring and order (§3 step 3)', () => {
  const indexed = (id: string, domainId: string, tags: string[], priority: number) =>
    bundleIndex({
      atlases: [
        open(
          withDomain(domain(domainId)),
          withoutPacks(),
          withPack(pack(id, inDomain(domainId), (p) => Object.assign(p, { tags, priority }))),
        ),
      ],
    }).atlases[0]!.packs[0]!;

  it.each([
    ['no overlap: the priority', 'nothing in common', 4],
    ['a tag word', 'start the canary', 5],
    ['a word of the id', 'read the rollout', 5],
    ['a word of the domain', 'change k8s', 5],
    ['words of tag, id and domain add up', 'canary rollout on k8s workloads', 8],
    ['a word counts once however often it occurs', 'deploy deploy DEPLOY', 5],
    ['case and punctuation do not matter', 'Canary-Deploy!', 6],
  ])('score: %s', (_name, goal, expected) => {
    const p = indexed('rollout-notes', 'k8s.workloads', ['canary', 'deploy'], 4);
    const words = new Set(
      goal
        .toLowerCase()
        .split(/[^\p{L}\p{N}]+/u)
        .filter((w) => w.length > 1),
    );
    expect(scorePack(p, words)).toBe(expected);
  });

  const packs = [
    pack('zulu', (p) => Object.assign(p, { priority: 2, tags: ['deploy'] })),
    pack('yankee', (p) => Object.assign(p, { priority: 3 })),
    pack('xray', (p) => Object.assign(p, { priority: 1, tags: ['deploy', 'rollback', 'canary'] })),
    pack('whiskey', (p) => Object.assign(p, { priority: 3 })),
  ];

  it.each([
    ['no overlap: by priority, ties by id', 'look around', ['whiskey', 'yankee', 'zulu', 'xray']],
    ['tag overlap lifts a low-priority pack', 'canary deploy with rollback', ['xray', 'whiskey', 'yankee', 'zulu']],
    ['an id word and a tag', 'zulu deploy', ['zulu', 'whiskey', 'yankee', 'xray']],
    ['equal scores: higher priority first', 'deploy now', ['whiskey', 'yankee', 'zulu', 'xray']],
  ])('order: %s', (_name, goal, expected) => {
    const index = bundleIndex({ atlases: [open(withoutPacks(), withPack(...packs))] });
    expect(packRefs(resolve(index, resolveRequest(goal)).resolution)).toEqual(expected);
  });

  it('is deterministic: the order of packs in the atlas does not matter', () => {
    const goal = 'canary deploy';
    const orders = [packs, [...packs].reverse(), [packs[2]!, packs[0]!, packs[3]!, packs[1]!]];
    const results = orders.map((ps) =>
      packRefs(
        resolve(
          bundleIndex({ atlases: [open(withoutPacks(), withPack(...structuredClone(ps)))] }),
          resolveRequest(goal),
        ).resolution,
      ),
    );
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
  });

  it('orders globally across atlases; same id, score and priority: by atlas ref', () => {
    const index = bundleIndex({
      atlases: [
        open(named('bravo'), withoutPacks(), withPack(pack('guide', (p) => void (p.priority = 1)))),
        open(
          named('alpha'),
          withoutPacks(),
          withPack(
            pack('guide', (p) => void (p.priority = 1)),
            pack('extra', (p) => void (p.priority = 5)),
          ),
        ),
      ],
    });
    const { resolution } = resolve(index, resolveRequest('x'));
    expect(resolution.context_blocks.map((b) => `${b.atlas_ref}#${b.pack_ref}`)).toEqual([
      'default/alpha@1.0.0#extra',
      'default/alpha@1.0.0#guide',
      'default/bravo@1.0.0#guide',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('token budget (§3 step 3)', () => {
  const index = bundleIndex({
    atlases: [
      open(
        withoutPacks(),
        withPack(
          pack('first', withContent(tokens(100)), (p) => void (p.priority = 3)),
          pack('too-big', withContent(tokens(300)), (p) => Object.assign(p, { priority: 2, ttlSeconds: 10 })),
          pack('small', withContent(tokens(50)), (p) => void (p.priority = 1)),
        ),
      ),
    ],
  });

  it.each([
    ['skips a pack that does not fit and still takes a later smaller one', 160, ['first', 'small'], 150],
    ['fills exactly to the budget', 150, ['first', 'small'], 150],
    ['one token short of the second pack', 149, ['first'], 100],
    ['everything fits', 450, ['first', 'too-big', 'small'], 450],
    ['max_context_tokens 0: no context', 0, [], 0],
  ])('%s (budget %i)', (_name, budget, expected, total) => {
    const { plan, resolution } = resolve(index, resolveRequest('x', inScope({ max_context_tokens: budget })));
    expect(packRefs(resolution)).toEqual(expected);
    expect(resolution.context_blocks.reduce((n, b) => n + b.token_count, 0)).toBe(total);
    expect(total).toBeLessThanOrEqual(budget);
    const selectedStep = plan.steps.find((s) => s.type === 'carp.context.selected')!;
    expect(selectedStep.payload.max_tokens).toBe(budget);
    expect((selectedStep.payload.skipped as { pack: string }[]).map((s) => s.pack.split('#')[1])).toEqual(
      ['first', 'too-big', 'small'].filter((p) => !expected.includes(p)),
    );
    // Grants do not depend on the context budget.
    expect(grantIds(resolution)).toEqual(['deploy']);
  });

  it('max_context_tokens 0 still decides and keeps the default TTL', () => {
    const { resolution } = resolve(index, resolveRequest('x', inScope({ max_context_tokens: 0 })));
    expect(resolution.decision).toEqual({ type: 'allow' });
    expect(resolution.evidence).toEqual([]);
    expect(resolution.ttl.resolution_expires_at).toBe(isoTime(NOW + 300_000));
  });

  it('the default budget is 8192 tokens', () => {
    const big = bundleIndex({
      atlases: [
        open(
          withoutPacks(),
          withPack(
            pack('huge', withContent(tokens(8193)), (p) => void (p.priority = 9)),
            pack('exact', withContent(tokens(8192))),
          ),
        ),
      ],
    });
    expect(packRefs(resolve(big, resolveRequest('x')).resolution)).toEqual(['exact']);
  });

  it('token_count is the estimate of one token per four UTF-8 bytes, rounded up', () => {
    const index2 = bundleIndex({ atlases: [open(withoutPacks(), withPack(pack('utf', withContent('héllo'))))] });
    expect(resolve(index2, resolveRequest('x')).resolution.context_blocks[0]!.token_count).toBe(2);
  });
});

// ---------------------------------------------------------------------------------------------

describe('TTL folding (§3 step 6)', () => {
  const withTtls = (...ttls: (number | undefined)[]) =>
    bundleIndex({
      atlases: [
        open(
          withoutPacks(),
          withPack(
            ...ttls.map((t, i) =>
              pack(`p${i}`, (p) => {
                if (t !== undefined) p.ttlSeconds = t;
              }),
            ),
          ),
        ),
      ],
    });

  it.each([
    ['no blocks: the default 300 s', [], 300, 240],
    ['a pack without ttlSeconds (3600 s) does not lengthen it', [undefined], 300, 240],
    ['longer block ttls: 300 s', [600, 900], 300, 240],
    ['the shortest block ttl', [600, 120, 900], 120, 96],
    ['refresh hint rounds down', [7], 7, 5],
  ])('%s', (_name, ttls, seconds, refresh) => {
    const index = ttls.length === 0 ? bundleIndex({ atlases: [open(withoutPacks())] }) : withTtls(...ttls);
    const { plan, resolution } = resolve(index, resolveRequest('x'));
    const expires = isoTime(NOW + seconds * 1000);
    expect(plan.ttlSeconds).toBe(seconds);
    expect(resolution.ttl).toEqual({
      context_expires_at: expires,
      resolution_expires_at: expires,
      refresh_hint_seconds: refresh,
    });
    expect(resolution.timestamp).toBe(isoTime(NOW));
    for (const grant of resolution.allowed_actions) expect(grant.valid_until).toBe(expires);
  });

  it('a pack left out by the budget does not shorten the TTL', () => {
    const index = bundleIndex({
      atlases: [
        open(
          withoutPacks(),
          withPack(
            pack('short', withContent(tokens(100)), (p) => void (p.ttlSeconds = 10)),
            pack('long'),
          ),
        ),
      ],
    });
    const { resolution } = resolve(index, resolveRequest('x', inScope({ max_context_tokens: 50 })));
    expect(packRefs(resolution)).toEqual(['long']);
    expect(resolution.ttl.refresh_hint_seconds).toBe(240);
  });

  it('the default TTL is configurable', () => {
    const { resolution } = resolve(bundleIndex({ atlases: [open(withoutPacks())] }), resolveRequest('x'), principal(), {
      ttlSeconds: 60,
    });
    expect(resolution.ttl.resolution_expires_at).toBe(isoTime(NOW + 60_000));
    expect(resolution.ttl.refresh_hint_seconds).toBe(48);
  });
});

// ---------------------------------------------------------------------------------------------

describe('grants, blocks and evidence (§3 steps 3–4)', () => {
  const index = bundleIndex({
    atlases: [
      open(
        withDomain(domain('db'), domain('net')),
        withoutPacks(),
        withPack(
          pack('guide', (p) => void (p.evidenceSources = ['https://docs.example/ops', 'runbook:ops-1'])),
          pack('db-guide', inDomain('db'), (p) =>
            Object.assign(p, {
              evidenceSources: ['http://docs.example/db'],
              format: 'yaml',
              tags: ['sql'],
              priority: 2,
            }),
          ),
        ),
        withAction(action('migrate', inDomain('db')), action('route', inDomain('net'))),
      ),
    ],
  });
  const { resolution } = resolve(index, resolveRequest('migrate the schema'));

  it('is a schema-valid CARPResolution', () => {
    expect(validResolution(resolution), JSON.stringify(validResolution.errors)).toBe(true);
    expect(resolution).toMatchObject({
      carp_version: '1.0',
      request_id: resolveRequest('x').request_id,
      session_id: resolveRequest('x').requester.session_id,
      bundle_version: index.version,
      telemetry_link: TELEMETRY,
    });
  });

  it('every id is a fresh UUIDv7, none repeated', () => {
    const ids = [
      resolution.resolution_id,
      ...resolution.context_blocks.map((b) => b.block_id),
      ...resolution.allowed_actions.map((g) => g.action_id),
      ...resolution.evidence.map((e) => e.evidence_id),
    ];
    expect(ids).toHaveLength(1 + 2 + 3 + 3);
    for (const id of ids) expect(isUuidV7(id), id).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('blocks carry the pack, its content hash and metadata', () => {
    const [db, guide] = resolution.context_blocks;
    expect(db).toMatchObject({
      atlas_ref: 'default/ops@1.0.0',
      pack_ref: 'db-guide',
      domain: 'db',
      content_type: 'yaml',
      content: '# db-guide\n',
      content_hash: sha256Hex('# db-guide\n'),
      token_count: 3,
      ttl_seconds: 3600,
      tags: ['sql'],
      priority: 2,
    });
    expect(guide).toMatchObject({ pack_ref: 'guide', content_type: 'markdown', content_hash: sha256Hex('# guide\n') });
  });

  it('every block evidence_ref is a real Evidence entry of that block, each entry referenced once', () => {
    const byId = new Map(resolution.evidence.map((e) => [e.evidence_id, e]));
    const refs = resolution.context_blocks.flatMap((b) => b.evidence_refs);
    expect(refs.sort()).toEqual([...byId.keys()].sort());
    for (const block of resolution.context_blocks) {
      for (const ref of block.evidence_refs) {
        expect(byId.get(ref)).toMatchObject({
          atlas_ref: block.atlas_ref,
          content_hash: block.content_hash,
          content_preview: block.content,
          created_at: isoTime(NOW),
          type: 'documentation',
          verified: true,
        });
      }
    }
    const guide = resolution.context_blocks.find((b) => b.pack_ref === 'guide')!;
    expect(guide.evidence_refs.map((r) => byId.get(r)!.source)).toEqual(['https://docs.example/ops', 'runbook:ops-1']);
    expect(byId.get(guide.evidence_refs[0]!)!.source_url).toBe('https://docs.example/ops');
    expect(byId.get(guide.evidence_refs[1]!)!.source_url).toBeUndefined();
  });

  it('grants reference the evidence of the blocks in their domain (none when no block of it)', () => {
    const blockRefs = (d: string) =>
      resolution.context_blocks.filter((b) => b.domain === d).flatMap((b) => b.evidence_refs);
    const grant = (id: string) => resolution.allowed_actions.find((g) => g.atlas_action_id === id)!;
    expect(grant('deploy').evidence_refs).toEqual(blockRefs('ops'));
    expect(grant('deploy').evidence_refs).toHaveLength(2);
    expect(grant('migrate').evidence_refs).toEqual(blockRefs('db'));
    expect(grant('route').evidence_refs).toEqual([]);
  });

  it('grants carry the atlas action and are valid until the resolution expires', () => {
    const migrate = resolution.allowed_actions.find((g) => g.atlas_action_id === 'migrate')!;
    const source = index.atlases[0]!.actions.find((a) => a.id === 'migrate')!;
    expect(migrate).toMatchObject({
      action_type: 'api.test.migrate',
      name: 'migrate',
      description: 'The migrate action',
      schema: source.schema,
      constraints: [],
      requires_approval: false,
      risk_tier: 'low',
      atlas_ref: 'default/ops@1.0.0',
      domain: 'db',
      valid_until: resolution.ttl.resolution_expires_at,
    });
    expect(migrate.rate_limit).toBeUndefined();
    expect(migrate.approval_type).toBeUndefined();
  });

  it('two materializations of one plan differ only in ids', () => {
    const plan = planResolution({ request: resolveRequest('x'), index, principal: principal(), now: NOW });
    const a = materializeResolution({
      plan,
      request: resolveRequest('x'),
      ids: sequentialIds(0),
      now: NOW,
      telemetry: TELEMETRY,
    });
    const b = materializeResolution({
      plan,
      request: resolveRequest('x'),
      ids: sequentialIds(500),
      now: NOW,
      telemetry: TELEMETRY,
    });
    expect(a.resolution.resolution_id).not.toBe(b.resolution.resolution_id);
    const strip = (r: CARPResolution) => ({
      ...r,
      resolution_id: '',
      context_blocks: r.context_blocks.map((x) => ({ ...x, block_id: '', evidence_refs: x.evidence_refs.length })),
      allowed_actions: r.allowed_actions.map((g) => ({ ...g, action_id: '', evidence_refs: g.evidence_refs.length })),
      evidence: r.evidence.map((e) => ({ ...e, evidence_id: '' })),
    });
    expect(strip(a.resolution)).toEqual(strip(b.resolution));
    expect(a.steps).toEqual([{ type: 'carp.evidence.gathered', payload: { evidence_count: 3 } }]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('denials (§3 step 4)', () => {
  const merge = action('merge', risk('high'));

  it('above the request risk tier: temporary, with a remediation naming the tier needed', () => {
    const { resolution } = resolve(
      bundleIndex({ atlases: [open(withAction(merge))] }),
      resolveRequest('x', riskTier('medium')),
    );
    expect(grantIds(resolution)).toEqual(['deploy']);
    expect(resolution.denied_actions).toEqual([
      {
        action_type: 'api.test.merge',
        atlas_action_id: 'merge',
        atlas_ref: 'default/ops@1.0.0',
        reason: 'risk tier high exceeds the requested risk tier medium',
        policy_refs: [],
        permanent: false,
        remediation: 'resolve again with task.risk_tier "high"',
      },
    ]);
  });

  it("above the identity's maxRiskTier: permanent", () => {
    const who = principal((p) => void (p.maxRiskTier = 'medium'));
    const { resolution } = resolve(
      bundleIndex({ atlases: [open(withAction(merge))] }),
      resolveRequest('x', riskTier('critical')),
      who,
    );
    expect(resolution.denied_actions).toEqual([
      {
        action_type: 'api.test.merge',
        atlas_action_id: 'merge',
        atlas_ref: 'default/ops@1.0.0',
        reason: "risk tier high exceeds this agent's maximum medium",
        policy_refs: [],
        permanent: true,
      },
    ]);
  });

  // Spec §3 step 4 filters by both ceilings; the denial must not suggest a remediation that
  // cannot work. plan.ts checks the request tier first, so an action above BOTH the request's
  // tier and the identity's maxRiskTier is reported as temporary ("resolve again with
  // task.risk_tier high"), though resolving again would only hit the permanent maxRiskTier denial.
  it("above both ceilings: the identity's maxRiskTier denial (permanent) wins", () => {
    const who = principal((p) => void (p.maxRiskTier = 'low'));
    const { resolution } = resolve(
      bundleIndex({ atlases: [open(withAction(merge))] }),
      resolveRequest('x', riskTier('medium')),
      who,
    );
    expect(resolution.denied_actions[0]).toMatchObject({ atlas_action_id: 'merge', permanent: true });
    expect(resolution.denied_actions[0]!.remediation).toBeUndefined();
  });

  it('a policy deny: the rule message, policy_refs atlas:<ref>#<rule>, permanent', () => {
    const atlas = open(
      withAction(merge),
      withPolicy(rule('no-merge', 'deny', { actionId: 'merge' }, { message: 'merges are frozen' })),
    );
    const { resolution } = resolve(bundleIndex({ atlases: [atlas] }), resolveRequest('x', riskTier('high')));
    expect(grantIds(resolution)).toEqual(['deploy']);
    expect(resolution.denied_actions).toEqual([
      {
        action_type: 'api.test.merge',
        atlas_action_id: 'merge',
        atlas_ref: 'default/ops@1.0.0',
        reason: 'merges are frozen',
        policy_refs: ['atlas:default/ops@1.0.0#no-merge'],
        permanent: true,
      },
    ]);
  });

  it('a policy deny without a message names the rule; every denying rule is referenced', () => {
    const atlas = open(
      withPolicy(
        rule('freeze', 'deny', { always: true }, { priority: 5 }),
        rule('no-deploy', 'deny', { actionType: 'api.test.*' }),
      ),
    );
    const policies = [policy('change-freeze', { rules: [rule('stop', 'deny')] })];
    const { resolution } = resolve(bundleIndex({ atlases: [atlas], policies }), resolveRequest('x'));
    expect(resolution.denied_actions).toEqual([
      expect.objectContaining({
        reason: 'denied by policy rule freeze',
        policy_refs: [
          'atlas:default/ops@1.0.0#freeze',
          'atlas:default/ops@1.0.0#no-deploy',
          'policy:default/change-freeze#stop',
        ],
        permanent: true,
      }),
    ]);
  });

  it('default deny: no rule allows the action', () => {
    const { resolution } = resolve(bundleIndex({ atlases: [loadedAtlas()] }), resolveRequest('x'));
    expect(resolution.allowed_actions).toEqual([]);
    expect(resolution.denied_actions).toEqual([
      {
        action_type: 'api.test.deploy',
        atlas_action_id: 'deploy',
        atlas_ref: 'default/ops@1.0.0',
        reason: 'no policy allows this action (default deny)',
        policy_refs: [],
        permanent: true,
        remediation: 'add a policy rule that allows this action',
      },
    ]);
    expect(resolution.decision).toEqual({ type: 'allow' });
  });

  it('an allow that does not match is a default deny too', () => {
    const atlas = loadedAtlas(withPolicy(rule('only-db', 'allow', { domain: 'db' })));
    const { resolution } = resolve(bundleIndex({ atlases: [atlas] }), resolveRequest('x'));
    expect(resolution.denied_actions[0]!.reason).toBe('no policy allows this action (default deny)');
  });
});

// ---------------------------------------------------------------------------------------------

describe('decisions (§3 step 5)', () => {
  const merge = action('merge', risk('high'));
  const approveHigh = rule(
    'approve-high',
    'require_approval',
    { riskTier: { in: ['high', 'critical'] } },
    {
      params: { approvers: ['role:approver'], timeoutSeconds: 1200 },
    },
  );

  interface Row {
    name: string;
    atlas: LoadedAtlas;
    request: ResolveRequest;
    who?: Principal;
    decision: CARPResolution['decision'];
    blocks: string[];
    grants: string[];
    denials: string[];
    check?: (r: CARPResolution) => void;
  }
  const rows: Row[] = [
    {
      name: 'request-level deny: no context, no grants',
      atlas: open(
        withAction(merge),
        withPolicy(
          rule(
            'no-critical',
            'deny',
            { requestRiskTier: { eq: 'critical' } },
            { target: 'request', message: 'no critical work today' },
          ),
        ),
      ),
      request: resolveRequest('x', riskTier('critical')),
      decision: {
        type: 'deny',
        reason: 'no critical work today',
        policy_refs: ['atlas:default/ops@1.0.0#no-critical'],
      },
      blocks: [],
      grants: [],
      denials: [],
      check: (r) => {
        expect(r.evidence).toEqual([]);
        expect(r.ttl.refresh_hint_seconds).toBe(240);
      },
    },
    {
      name: 'a request-level deny that does not match changes nothing',
      atlas: open(
        withPolicy(rule('no-critical', 'deny', { requestRiskTier: { eq: 'critical' } }, { target: 'request' })),
      ),
      request: resolveRequest('x', riskTier('high')),
      decision: { type: 'allow' },
      blocks: ['guide'],
      grants: ['deploy'],
      denials: [],
    },
    {
      name: 'request-level require_approval: every grant requires approval',
      atlas: open(
        withAction(action('read')),
        withPolicy(
          rule(
            'hold-untrusted',
            'require_approval',
            { agent: { labels: { trust: 'low' } } },
            {
              target: 'request',
              params: { approvers: ['role:approver', 'alice'], timeoutSeconds: 600 },
            },
          ),
        ),
      ),
      request: resolveRequest('x'),
      who: principal((p) => void (p.labels = { trust: 'low' })),
      decision: {
        type: 'requires_approval',
        approvers: [
          { id: 'approver', type: 'role' },
          { id: 'alice', type: 'user' },
        ],
        approval_timeout_seconds: 600,
      },
      blocks: ['guide'],
      grants: ['deploy', 'read'],
      denials: [],
      check: (r) => {
        for (const g of r.allowed_actions) {
          expect(g.requires_approval).toBe(true);
          expect(g.approval_type).toBe('async');
          expect(g.constraints).toEqual([
            expect.objectContaining({
              type: 'approval_required',
              params: { approvers: ['role:approver', 'alice'], timeout_seconds: 600 },
            }),
          ]);
        }
      },
    },
    {
      name: 'partial: an action named in scope.actions is denied',
      atlas: open(withAction(merge)),
      request: resolveRequest('x', riskTier('medium'), inScope({ actions: ['api.test.deploy', 'api.test.merge'] })),
      decision: {
        type: 'partial',
        reason: '1 requested action(s) denied',
        allowed_subset: ['api.test.deploy'],
        denied_subset: ['api.test.merge'],
      },
      blocks: ['guide'],
      grants: ['deploy'],
      denials: ['merge'],
    },
    {
      name: 'partial: scope.actions by atlas action id',
      atlas: open(withAction(merge)),
      request: resolveRequest('x', inScope({ actions: ['merge'] })),
      decision: {
        type: 'partial',
        reason: '1 requested action(s) denied',
        allowed_subset: [],
        denied_subset: ['api.test.merge'],
      },
      blocks: ['guide'],
      grants: [],
      denials: ['merge'],
    },
    {
      name: 'scope.actions naming only grantable actions: allow, the others not evaluated',
      atlas: open(withAction(merge)),
      request: resolveRequest('x', inScope({ actions: ['api.test.deploy'] })),
      decision: { type: 'allow' },
      blocks: ['guide'],
      grants: ['deploy'],
      denials: [],
    },
    {
      name: 'a denial not named in scope does not make it partial',
      atlas: open(withAction(merge)),
      request: resolveRequest('x'),
      decision: { type: 'allow' },
      blocks: ['guide'],
      grants: ['deploy'],
      denials: ['merge'],
    },
    {
      name: 'allow_with_constraints: a grant requires approval',
      atlas: open(withAction(merge), withPolicy(approveHigh)),
      request: resolveRequest('x', riskTier('high')),
      decision: {
        type: 'allow_with_constraints',
        constraints: [
          {
            id: 'merge:approval',
            type: 'approval_required',
            description: 'Execution waits for approval by role:approver',
            params: { approvers: ['role:approver'], timeout_seconds: 1200 },
            enforcement: 'hard',
          },
        ],
      },
      blocks: ['guide'],
      grants: ['deploy', 'merge'],
      denials: [],
      check: (r) => {
        expect(r.allowed_actions.map((g) => g.requires_approval)).toEqual([false, true]);
      },
    },
    {
      name: 'allow_with_constraints: a rule that reads parameters is checked at execute',
      atlas: open(withPolicy(rule('no-prod', 'deny', { parameters: { pointer: '/repo', eq: 'prod' } }))),
      request: resolveRequest('x'),
      decision: {
        type: 'allow_with_constraints',
        constraints: [
          {
            id: 'deploy:conditional',
            type: 'parameter_restriction',
            description: 'Policies that read parameters or the clock are re-evaluated at execute time',
            params: { rules: ['atlas:default/ops@1.0.0#no-prod'] },
            enforcement: 'hard',
          },
        ],
      },
      blocks: ['guide'],
      grants: ['deploy'],
      denials: [],
    },
    {
      name: 'allow_with_constraints: a constrain rule',
      atlas: open(
        withPolicy(
          rule('repo-names', 'constrain', undefined, {
            params: { constraints: [{ parameter: '/repo', constraint_type: 'pattern', value: '^web-' }] },
          }),
        ),
      ),
      request: resolveRequest('x'),
      decision: {
        type: 'allow_with_constraints',
        constraints: [
          {
            id: 'deploy:parameters',
            type: 'parameter_restriction',
            description: 'Parameters must satisfy the policy constraints listed in parameter_constraints',
            params: { constraints: [{ parameter: '/repo', constraint_type: 'pattern', value: '^web-' }] },
            enforcement: 'hard',
          },
        ],
      },
      blocks: ['guide'],
      grants: ['deploy'],
      denials: [],
      check: (r) => {
        expect(r.allowed_actions[0]!.parameter_constraints).toEqual([
          { parameter: '/repo', constraint_type: 'pattern', value: '^web-' },
        ]);
      },
    },
    {
      name: 'allow: a rate limit alone is not a constraint (reported in grant.rate_limit)',
      atlas: open(
        withPolicy(
          rule('limit', 'rate_limit', undefined, { params: { requests: 5, windowSeconds: 60, scope: 'session' } }),
        ),
      ),
      request: resolveRequest('x'),
      decision: { type: 'allow' },
      blocks: ['guide'],
      grants: ['deploy'],
      denials: [],
      check: (r) => {
        expect(r.allowed_actions[0]!.rate_limit).toEqual({ requests: 5, window_seconds: 60, scope: 'session' });
        expect(r.allowed_actions[0]!.constraints).toEqual([]);
      },
    },
    {
      name: 'allow: nothing else',
      atlas: open(),
      request: resolveRequest('x'),
      decision: { type: 'allow' },
      blocks: ['guide'],
      grants: ['deploy'],
      denials: [],
    },
  ];

  it.each(rows)('$name', ({ atlas, request, who, decision, blocks, grants, denials, check }) => {
    const { resolution } = resolve(bundleIndex({ atlases: [atlas] }), request, who);
    expect(resolution.decision).toEqual(decision);
    expect(packRefs(resolution)).toEqual(blocks);
    expect(grantIds(resolution)).toEqual(grants);
    expect(denialIds(resolution)).toEqual(denials);
    expect(validResolution(resolution), JSON.stringify(validResolution.errors)).toBe(true);
    check?.(resolution);
  });

  it('the decision lists every constraint of every grant, in grant order', () => {
    const atlas = open(
      withAction(merge),
      withPolicy(approveHigh, rule('no-prod', 'deny', { parameters: { pointer: '/repo', eq: 'prod' } })),
    );
    const { resolution } = resolve(bundleIndex({ atlases: [atlas] }), resolveRequest('x', riskTier('high')));
    const all: Constraint[] = resolution.allowed_actions.flatMap((g) => g.constraints);
    expect(resolution.decision).toEqual({ type: 'allow_with_constraints', constraints: all });
    expect(all.map((c) => c.id)).toEqual(['deploy:conditional', 'merge:approval', 'merge:conditional']);
  });

  it('request-level deny wins over a request-level approval', () => {
    const atlas = open(
      withPolicy(
        rule('hold', 'require_approval', undefined, { target: 'request' }),
        rule('stop', 'deny', undefined, { target: 'request' }),
      ),
    );
    const { resolution } = resolve(bundleIndex({ atlases: [atlas] }), resolveRequest('x'));
    expect(resolution.decision).toEqual({
      type: 'deny',
      reason: 'denied by policy rule stop',
      policy_refs: ['atlas:default/ops@1.0.0#stop'],
    });
  });

  it('a request-level deny from a selected Policy resource', () => {
    const policies = [
      policy('lockdown', {
        rules: [rule('lockdown', 'deny', undefined, { target: 'request', message: 'locked down' })],
      }),
    ];
    const { resolution } = resolve(bundleIndex({ atlases: [open()], policies }), resolveRequest('x'));
    expect(resolution.decision).toEqual({
      type: 'deny',
      reason: 'locked down',
      policy_refs: ['policy:default/lockdown#lockdown'],
    });
    expect(resolution.context_blocks).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('scope.max_actions (§3 step 4)', () => {
  const atlas = open(withAction(action('build'), action('test')));

  it('caps grants and warns MAX_ACTIONS_REACHED naming the omitted ones', () => {
    const { resolution } = resolve(bundleIndex({ atlases: [atlas] }), resolveRequest('x', inScope({ max_actions: 2 })));
    expect(grantIds(resolution)).toEqual(['deploy', 'build']);
    expect(resolution.warnings).toEqual([
      {
        code: 'MAX_ACTIONS_REACHED',
        message: '1 grant(s) omitted by scope.max_actions = 2',
        details: { omitted: ['api.test.test'] },
      },
    ]);
  });

  it('exactly at the cap: no warning', () => {
    const { resolution } = resolve(bundleIndex({ atlases: [atlas] }), resolveRequest('x', inScope({ max_actions: 3 })));
    expect(grantIds(resolution)).toHaveLength(3);
    expect(resolution.warnings).toBeUndefined();
  });

  it('max_actions 0: no grants, context still given', () => {
    const { resolution } = resolve(bundleIndex({ atlases: [atlas] }), resolveRequest('x', inScope({ max_actions: 0 })));
    expect(resolution.allowed_actions).toEqual([]);
    expect(packRefs(resolution)).toEqual(['guide']);
    expect(resolution.warnings?.map((w) => w.code)).toEqual(['MAX_ACTIONS_REACHED']);
  });

  it('the default cap is 50', () => {
    const many = Array.from({ length: 52 }, (_, i) => action(`a${String(i).padStart(2, '0')}`));
    const { resolution } = resolve(
      bundleIndex({ atlases: [open(withoutActions(), withAction(...many))] }),
      resolveRequest('x'),
    );
    expect(resolution.allowed_actions).toHaveLength(50);
    expect(resolution.warnings).toEqual([
      expect.objectContaining({ code: 'MAX_ACTIONS_REACHED', details: { omitted: ['api.test.a50', 'api.test.a51'] } }),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('policies_applied (§4)', () => {
  const atlas = open(
    withAction(action('merge')),
    withPolicy(
      rule('rate-deploy', 'rate_limit', { actionId: 'deploy' }, { params: { requests: 10, windowSeconds: 60 } }),
      rule('no-merge', 'deny', { actionId: 'merge' }, { message: 'no merges' }),
      rule('log-goal', 'redact', undefined, {
        target: 'request',
        params: { rules: [{ path: 'payload.goal', mode: 'hash' }] },
      }),
    ),
  );
  const policies = [policy('limits', { rateLimits: [{ requests: 5, windowSeconds: 60 }] })];
  const { plan, resolution } = resolve(bundleIndex({ atlases: [atlas], policies }), resolveRequest('x'));

  it('reports real counts per source: request rules once, action rules per evaluated action', () => {
    expect(
      resolution.policies_applied.map(({ evaluation_time_ms, ...rest }) => {
        expect(evaluation_time_ms).toBeGreaterThanOrEqual(0);
        return rest;
      }),
    ).toEqual([
      {
        policy_id: 'atlas:default/ops@1.0.0',
        policy_name: 'ops',
        policy_version: '1.0.0',
        atlas_ref: 'default/ops@1.0.0',
        rules_evaluated: 1 + 3 * 2,
        rules_matched: 1 + 2 + 2,
        effects: [
          { rule_id: 'log-goal', effect: 'redact', target: 'request' },
          { rule_id: 'allow-all', effect: 'allow', target: 'api.test.deploy' },
          { rule_id: 'rate-deploy', effect: 'rate_limit', target: 'api.test.deploy' },
          { rule_id: 'allow-all', effect: 'allow', target: 'api.test.merge' },
          { rule_id: 'no-merge', effect: 'deny', target: 'api.test.merge', reason: 'no merges' },
        ],
      },
      {
        policy_id: 'policy:default/limits',
        policy_name: 'limits',
        policy_version: '1',
        rules_evaluated: 2,
        rules_matched: 2,
        effects: [
          { rule_id: 'rate-limit-0', effect: 'rate_limit', target: 'api.test.deploy' },
          { rule_id: 'rate-limit-0', effect: 'rate_limit', target: 'api.test.merge' },
        ],
      },
    ]);
  });

  it('the trace steps carry the same totals', () => {
    const completed = plan.steps.find((s) => s.type === 'carp.policy.evaluation.completed')!;
    expect(completed.payload).toEqual({ rules_evaluated: 9, rules_matched: 7 });
    // One event per matched rule, listing every target it matched: together the 7 matches.
    const matched = plan.steps.filter((s) => s.type === 'carp.policy.rule.matched');
    const targets = matched.flatMap((s) => [
      ...(s.payload.targets as string[]),
      ...((s.payload.conditional_targets as string[] | undefined) ?? []),
    ]);
    expect(targets).toHaveLength(7);
    expect(new Set(matched.map((s) => `${String(s.payload.policy_id)}#${String(s.payload.rule_id)}`)).size).toBe(
      matched.length,
    );
  });

  it('the strictest rate limit wins', () => {
    expect(resolution.allowed_actions[0]!.rate_limit).toEqual({ requests: 5, window_seconds: 60, scope: 'agent' });
  });

  it('a conditional match says it is checked at execute', () => {
    const conditional = open(withPolicy(rule('no-prod', 'deny', { parameters: { pointer: '/repo', eq: 'prod' } })));
    const applied = resolve(bundleIndex({ atlases: [conditional] }), resolveRequest('x')).resolution
      .policies_applied[0]!;
    expect(applied.effects).toContainEqual({
      rule_id: 'no-prod',
      effect: 'deny',
      target: 'api.test.deploy',
      reason: 'depends on parameters or time; checked at execute',
    });
    expect(applied.rules_matched).toBe(2);
  });

  it('redact rules that apply are collected for the trace', () => {
    expect(plan.redactions).toEqual([{ path: 'payload.goal', mode: 'hash' }]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('cacheable', () => {
  const timeRule = rule('office-hours', 'allow', {
    time: { weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: { from: 8, to: 18 } },
  });

  it.each([
    ['no rule reads the clock', [open()], [], true],
    ['an atlas rule reads the clock', [open(withPolicy(timeRule))], [], false],
    [
      'a rule nested in a combinator reads the clock',
      [open(withPolicy(rule('x', 'deny', { not: { any: [{ always: true }, { time: { weekdays: ['sun'] } }] } })))],
      [],
      false,
    ],
    ['a Policy resource reads the clock', [open()], [policy('hours', { rules: [timeRule] })], false],
    [
      'an atlas this request does not use reads the clock',
      [open(), open(named('other'), withPolicy(timeRule))],
      [],
      false,
    ],
  ] as [string, LoadedAtlas[], CompiledPolicy[], boolean][])('%s → %s', (_name, atlases, policies, cacheable) => {
    const { plan } = resolve(bundleIndex({ atlases, policies }), resolveRequest('x', inScope({ atlases: ['ops'] })));
    expect(plan.cacheable).toBe(cacheable);
  });

  it('a time rule decides with the clock at resolve time (Monday noon: inside office hours)', () => {
    const atlas = loadedAtlas(withPolicy(timeRule));
    expect(grantIds(resolve(bundleIndex({ atlases: [atlas] }), resolveRequest('x')).resolution)).toEqual(['deploy']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('default risk tier', () => {
  const atlas = open(withAction(action('scale', risk('medium'))));

  it('is low when the request gives none', () => {
    const { resolution } = resolve(bundleIndex({ atlases: [atlas] }), resolveRequest('x'));
    expect(grantIds(resolution)).toEqual(['deploy']);
    expect(resolution.denied_actions[0]!.reason).toBe('risk tier medium exceeds the requested risk tier low');
  });

  it('request-level rules see the defaulted tier', () => {
    const strict = open(
      withPolicy(rule('low-only', 'deny', { requestRiskTier: { neq: 'low' } }, { target: 'request' })),
    );
    expect(resolve(bundleIndex({ atlases: [strict] }), resolveRequest('x')).resolution.decision.type).toBe('allow');
  });

  it('follows the configured default', () => {
    const { resolution } = resolve(bundleIndex({ atlases: [atlas] }), resolveRequest('x'), principal(), {
      riskTier: 'medium',
    });
    expect(grantIds(resolution)).toEqual(['deploy', 'scale']);
  });
});

// ---------------------------------------------------------------------------------------------

describe('Policy resources: selection (§1, §4)', () => {
  const deny = [rule('freeze', 'deny')];
  const atlases = [
    open(named('alpha'), withLabels({ team: 'web' })),
    open(named('bravo')),
    open(named('charlie'), inNamespace('team-a')),
  ];

  interface Row {
    name: string;
    policy: CompiledPolicy;
    who?: Principal;
    identities?: CompiledIdentity[];
    applies: string[];
  }
  const rows: Row[] = [
    {
      name: 'no selector: every atlas of its namespace',
      policy: policy('p', { rules: deny }),
      applies: ['alpha', 'bravo'],
    },
    {
      name: 'atlas names',
      policy: policy('p', { selector: { atlases: { names: ['alpha'] } }, rules: deny }),
      applies: ['alpha'],
    },
    {
      name: 'atlas labels',
      policy: policy('p', { selector: { atlases: { matchLabels: { team: 'web' } } }, rules: deny }),
      applies: ['alpha'],
    },
    {
      name: 'another namespace: only its atlases',
      policy: policy('p', { rules: deny }, 'team-a'),
      applies: ['charlie'],
    },
    {
      name: 'naming an atlas of another namespace does not reach it',
      policy: policy('p', { selector: { atlases: { names: ['charlie'] } }, rules: deny }),
      applies: [],
    },
    {
      name: 'agent ids: this agent',
      policy: policy('p', { selector: { agents: { names: ['agent-1'] } }, rules: deny }),
      applies: ['alpha', 'bravo'],
    },
    {
      name: 'agent ids: another agent',
      policy: policy('p', { selector: { agents: { names: ['agent-2'] } }, rules: deny }),
      applies: [],
    },
    {
      name: "agent labels: the caller's labels match",
      policy: policy('p', { selector: { agents: { matchLabels: { env: 'ci' } } }, rules: deny }),
      who: principal((p) => void (p.labels = { env: 'ci' })),
      applies: ['alpha', 'bravo'],
    },
    {
      name: "agent labels: the caller's labels do not match",
      policy: policy('p', { selector: { agents: { matchLabels: { env: 'ci' } } }, rules: deny }),
      who: principal((p) => void (p.labels = { env: 'dev' })),
      applies: [],
    },
    {
      name: "agent labels: the AgentIdentity's labels in the bundle",
      policy: policy('p', { selector: { agents: { matchLabels: { env: 'ci' } } }, rules: deny }),
      identities: [identity('agent-1', { labels: { env: 'ci' } })],
      applies: ['alpha', 'bravo'],
    },
    {
      name: 'atlas and agent selectors both hold',
      policy: policy('p', { selector: { atlases: { names: ['bravo'] }, agents: { names: ['agent-1'] } }, rules: deny }),
      applies: ['bravo'],
    },
  ];

  it.each(rows)('$name', ({ policy: p, who, identities, applies }) => {
    const index = bundleIndex({ atlases, policies: [p], ...(identities ? { identities } : {}) });
    const { resolution } = resolve(index, resolveRequest('x'), who);
    const deniedAtlases = resolution.denied_actions.map((d) => d.atlas_ref.replace(/^[^/]+\/(.+)@.*$/, '$1')).sort();
    expect(deniedAtlases).toEqual(applies);
    for (const d of resolution.denied_actions) expect(d.policy_refs).toEqual([`policy:${p.namespace}/p#freeze`]);
    expect(resolution.policies_applied.some((a) => a.policy_id === `policy:${p.namespace}/p`)).toBe(applies.length > 0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('reissueResolution (§3 step 7: a cache hit returns a new resolution)', () => {
  const index = bundleIndex({
    atlases: [
      open(
        withDomain(domain('db')),
        withoutPacks(),
        withPack(
          pack('guide', (p) =>
            Object.assign(p, { evidenceSources: ['https://a.example', 'https://b.example'], ttlSeconds: 120 }),
          ),
          pack('db-guide', inDomain('db'), (p) => void (p.evidenceSources = ['https://c.example'])),
        ),
        withAction(action('migrate', inDomain('db'), risk('high'))),
        withPolicy(rule('approve-high', 'require_approval', { riskTier: { eq: 'high' } })),
      ),
    ],
  });
  const first = resolve(index, resolveRequest('x', riskTier('high'), hints('ops', 'db', 'nope'))).resolution;
  const later = NOW + 45_000;
  const request = resolveRequest(
    'x',
    riskTier('high'),
    hints('ops', 'db', 'nope'),
    fromAgent('agent-1', '018f6b1c-0000-7000-8000-00000000dddd'),
    (r) => {
      r.request_id = '018f6b1c-0000-7000-8000-00000000eeee';
    },
  );
  const telemetry = { trace_id: 'c'.repeat(32), span_id: 'd'.repeat(16), events_emitted: 0 };
  const again = reissueResolution(first, request, sequentialIds(1000), later, telemetry);

  it('has new resolution, block, grant and evidence ids, all UUIDv7, none reused', () => {
    const idsOf = (r: CARPResolution) => [
      r.resolution_id,
      ...r.context_blocks.map((b) => b.block_id),
      ...r.allowed_actions.map((g) => g.action_id),
      ...r.evidence.map((e) => e.evidence_id),
    ];
    const before = new Set(idsOf(first));
    const after = idsOf(again);
    expect(after).toHaveLength(before.size);
    expect(new Set(after).size).toBe(after.length);
    for (const id of after) {
      expect(isUuidV7(id)).toBe(true);
      expect(before.has(id)).toBe(false);
    }
  });

  it('remaps evidence refs consistently in blocks and grants', () => {
    const map = new Map(first.evidence.map((e, i) => [e.evidence_id, again.evidence[i]!.evidence_id]));
    expect(again.evidence.map((e) => e.source)).toEqual(first.evidence.map((e) => e.source));
    first.context_blocks.forEach((b, i) =>
      expect(again.context_blocks[i]!.evidence_refs).toEqual(b.evidence_refs.map((r) => map.get(r))),
    );
    first.allowed_actions.forEach((g, i) =>
      expect(again.allowed_actions[i]!.evidence_refs).toEqual(g.evidence_refs.map((r) => map.get(r))),
    );
    const known = new Set(again.evidence.map((e) => e.evidence_id));
    for (const ref of [...again.context_blocks, ...again.allowed_actions].flatMap((x) => x.evidence_refs))
      expect(known.has(ref)).toBe(true);
  });

  it('counts times from the new now, keeping the TTL', () => {
    const expires = isoTime(later + 120_000);
    expect(again.timestamp).toBe(isoTime(later));
    expect(again.ttl).toEqual({
      context_expires_at: expires,
      resolution_expires_at: expires,
      refresh_hint_seconds: 96,
    });
    for (const g of again.allowed_actions) expect(g.valid_until).toBe(expires);
    for (const e of again.evidence) expect(e.created_at).toBe(isoTime(later));
  });

  it('keeps decision and content; takes request, session and telemetry from the new request', () => {
    expect(again.decision).toEqual(first.decision);
    expect(again.decision.type).toBe('allow_with_constraints');
    const content = (r: CARPResolution) => ({
      blocks: r.context_blocks.map(({ block_id: _b, evidence_refs: _e, ...rest }) => rest),
      grants: r.allowed_actions.map(({ action_id: _a, evidence_refs: _e, valid_until: _v, ...rest }) => rest),
      evidence: r.evidence.map(({ evidence_id: _i, created_at: _c, ...rest }) => rest),
      denials: r.denied_actions,
      policies: r.policies_applied,
      warnings: r.warnings,
      bundle: r.bundle_version,
    });
    expect(content(again)).toEqual(content(first));
    expect(again.warnings?.map((w) => w.code)).toEqual(['UNKNOWN_CONTEXT_HINTS']);
    expect(again.request_id).toBe('018f6b1c-0000-7000-8000-00000000eeee');
    expect(again.session_id).toBe('018f6b1c-0000-7000-8000-00000000dddd');
    expect(again.telemetry_link).toEqual(telemetry);
    expect(validResolution(again)).toBe(true);
  });

  it('does not modify the cached resolution', () => {
    const copy = structuredClone(first);
    reissueResolution(first, request, sequentialIds(2000), later, telemetry);
    expect(first).toEqual(copy);
  });
});

// ---------------------------------------------------------------------------------------------

describe('cacheKeyParts (§3 step 7)', () => {
  const key = (request: ResolveRequest, agent = 'agent-1', version = 'v1', defaultRisk: 'low' | 'medium' = 'low') =>
    canonicalJson(cacheKeyParts(request, agent, version, defaultRisk));
  const base = resolveRequest(
    'Fix the login bug',
    riskTier('medium'),
    hints('github.issues', 'github.pulls'),
    inScope({
      atlases: ['a', 'b'],
      domains: ['d1', 'd2'],
      actions: ['x', 'y'],
      max_context_tokens: 1000,
      max_actions: 5,
    }),
  );

  it('ignores the order of hints and scope lists, goal case and surrounding space', () => {
    const same = resolveRequest(
      '  fix the LOGIN bug ',
      riskTier('medium'),
      hints('github.pulls', 'github.issues'),
      inScope({
        atlases: ['b', 'a'],
        domains: ['d2', 'd1'],
        actions: ['y', 'x'],
        max_context_tokens: 1000,
        max_actions: 5,
      }),
    );
    expect(key(same)).toBe(key(base));
  });

  it('ignores request id, session and timestamp', () => {
    const other = structuredClone(base);
    other.request_id = '018f6b1c-0000-7000-8000-0000000000ff';
    other.requester.session_id = '018f6b1c-0000-7000-8000-0000000000fe';
    other.timestamp = '2030-01-01T00:00:00.000Z';
    expect(key(other)).toBe(key(base));
  });

  it('an absent risk tier is the default tier', () => {
    const noRisk = resolveRequest('x');
    expect(key(noRisk)).toBe(key(resolveRequest('x', riskTier('low'))));
    expect(key(noRisk, 'agent-1', 'v1', 'medium')).toBe(key(resolveRequest('x', riskTier('medium'))));
  });

  const changes: [string, (r: ResolveRequest) => void][] = [
    ['goal', (r) => void (r.task.goal = 'Fix the logout bug')],
    ['risk tier', (r) => void (r.task.risk_tier = 'high')],
    ['hints: one more', (r) => void r.task.context_hints!.push('github.repos')],
    ['hints: none', (r) => void delete r.task.context_hints],
    ['scope.atlases', (r) => void (r.scope!.atlases = ['a'])],
    ['scope.domains', (r) => void (r.scope!.domains = ['d1'])],
    ['scope.actions', (r) => void (r.scope!.actions = ['x', 'y', 'z'])],
    ['scope.max_context_tokens', (r) => void (r.scope!.max_context_tokens = 0)],
    ['scope.max_actions', (r) => void delete r.scope!.max_actions],
    ['no scope', (r) => void delete r.scope],
  ];
  it.each(changes)('changes with the %s', (_name, change) => {
    const changed = structuredClone(base);
    change(changed);
    expect(key(changed)).not.toBe(key(base));
  });

  it('changes with the agent and the bundle version', () => {
    expect(key(base, 'agent-2')).not.toBe(key(base));
    expect(key(base, 'agent-1', 'v2')).not.toBe(key(base));
  });
});

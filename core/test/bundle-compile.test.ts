import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LoadedAtlas } from '../src/atlas/types.js';
import { compileBundle, type BundleInput } from '../src/bundle/compile.js';
import type { CompiledIdentity, CompiledPolicy, RuntimeBundle } from '../src/bundle/types.js';
import {
  bundleContentHash,
  validateAgentIdentitySpec,
  validateBundle,
  validatePolicySpec,
} from '../src/bundle/validate.js';
import {
  action,
  atVersion,
  identity,
  inNamespace,
  loadedAtlas,
  named,
  pack,
  policy,
  rule,
  withAction,
  withContent,
  withDependency,
  withPack,
} from './fixtures/builders.js';

const DIGEST_A = 'a'.repeat(64);
const DIGEST_B = 'b'.repeat(64);

function inputs(): BundleInput {
  return {
    atlases: [
      loadedAtlas(named('github-ops'), withAction(action('merge', (a) => void (a.riskTier = 'high')))),
      loadedAtlas(named('base'), atVersion('1.2.0'), inNamespace('shared')),
      loadedAtlas(named('base'), atVersion('2.0.0'), inNamespace('shared')),
      loadedAtlas(named('app'), withDependency('shared/base', '^2')),
    ],
    policies: [
      policy('freeze', {
        selector: { atlases: { names: ['github-ops'] } },
        rules: [rule('deny-merge', 'deny', { actionType: 'api.test.merge' })],
      }),
      policy('limits', { rateLimits: [{ requests: 10, windowSeconds: 60, scope: 'agent' }] }, 'team-a'),
      policy('audit', {
        redaction: { rules: [{ path: 'payload.parameters.email', mode: 'hash' }] },
        approvals: { approvers: ['role:approver'], timeoutSeconds: 300 },
      }),
    ],
    identities: [
      identity('ci-bot', { labels: { team: 'platform' }, maxRiskTier: 'medium' }, 'default', [DIGEST_A]),
      identity('reviewer', { roles: ['approver'], auth: { jwt: { issuer: 'https://idp', subject: 'rev' } } }),
    ],
  };
}

function shuffled<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function reorderKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reorderKeys) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reorderKeys(v)]),
  ) as T;
}

describe('compileBundle', () => {
  it('compiles valid inputs into a valid, sorted, content-hashed bundle', () => {
    const { bundle, rejected } = compileBundle(inputs());
    expect(rejected).toEqual([]);
    expect(bundle.apiVersion).toBe('cra.dev/v1alpha1');
    expect(bundle.kind).toBe('RuntimeBundle');
    expect(bundle.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(bundle.version).toBe(bundle.contentHash.slice(7, 19));
    expect(bundle.atlases.map((a) => a.ref)).toEqual([
      'default/app@1.0.0',
      'default/github-ops@1.0.0',
      'shared/base@1.2.0',
      'shared/base@2.0.0',
    ]);
    expect(bundle.policies.map((p) => `${p.namespace}/${p.name}`)).toEqual([
      'default/audit',
      'default/freeze',
      'team-a/limits',
    ]);
    expect(bundle.identities.map((i) => i.spec.agentId)).toEqual(['ci-bot', 'reviewer']);
    expect(validateBundle(bundle)).toEqual([]);
    expect(validateBundle(JSON.parse(JSON.stringify(bundle)))).toEqual([]);
  });

  // Regenerate with `npx vitest run core/test/bundle-compile.test.ts -u` when the output changes on purpose.
  it('matches the golden bundle', async () => {
    const { bundle } = compileBundle(inputs());
    await expect(`${JSON.stringify(bundle, null, 2)}\n`).toMatchFileSnapshot('./golden/bundle-compile.json');
  });

  it('the golden bundle is one the runtime accepts', () => {
    const golden: unknown = JSON.parse(readFileSync(new URL('./golden/bundle-compile.json', import.meta.url), 'utf8'));
    expect(validateBundle(golden)).toEqual([]);
  });

  it.each([1, 2, 3, 4, 5])('does not depend on input order (permutation %i)', (seed) => {
    const base = compileBundle(inputs());
    const input = inputs();
    const permuted = compileBundle({
      atlases: shuffled(input.atlases, seed),
      policies: shuffled(input.policies, seed + 7),
      identities: shuffled(input.identities, seed + 13),
    });
    expect(JSON.stringify(permuted)).toBe(JSON.stringify(base));
  });

  it('is pure: inputs are not modified and the bundle shares nothing with them', () => {
    const input = inputs();
    const before = structuredClone(input);
    const { bundle } = compileBundle(input);
    expect(input).toEqual(before);
    bundle.atlases[0]!.spec.description = 'changed';
    expect(input).toEqual(before);
  });

  it('compiles nothing into an empty valid bundle', () => {
    const { bundle, rejected } = compileBundle({ atlases: [], policies: [], identities: [] });
    expect(rejected).toEqual([]);
    expect(bundle.atlases).toEqual([]);
    expect(validateBundle(bundle)).toEqual([]);
  });

  describe('hash changes exactly when content changes', () => {
    const hashOf = (input: BundleInput) => compileBundle(input).bundle.contentHash;
    const base = hashOf(inputs());

    it.each<[string, (i: BundleInput) => BundleInput]>([
      ['members in another order', (i) => reorderKeys(i)],
      [
        'undefined members',
        (i) => ({ ...i, atlases: i.atlases.map((a) => ({ ...a, spec: { ...a.spec, keywords: undefined } })) }),
      ],
      [
        'resources in another order',
        (i) => ({
          atlases: [...i.atlases].reverse(),
          policies: [...i.policies].reverse(),
          identities: [...i.identities].reverse(),
        }),
      ],
    ])('same hash: %s', (_name, change) => {
      expect(hashOf(change(inputs()))).toBe(base);
    });

    it.each<[string, (i: BundleInput) => BundleInput]>([
      [
        'one character of pack content',
        (i) => ({
          ...i,
          atlases: [
            loadedAtlas(
              named('github-ops'),
              withAction(action('merge', (a) => void (a.riskTier = 'high'))),
              withPack(pack('extra', withContent('x'))),
            ),
            ...i.atlases.slice(1),
          ],
        }),
      ],
      [
        'an atlas version',
        (i) => ({
          ...i,
          atlases: [
            ...i.atlases.slice(0, 3),
            loadedAtlas(named('app'), atVersion('1.0.1'), withDependency('shared/base', '^2')),
          ],
        }),
      ],
      [
        'a policy rule',
        (i) => ({
          ...i,
          policies: [
            policy('freeze', { rules: [rule('deny-merge', 'deny', { actionType: 'api.test.*' })] }),
            ...i.policies.slice(1),
          ],
        }),
      ],
      [
        'an API key digest',
        (i) => ({
          ...i,
          identities: [
            identity('ci-bot', { labels: { team: 'platform' }, maxRiskTier: 'medium' }, 'default', [DIGEST_B]),
            ...i.identities.slice(1),
          ],
        }),
      ],
      ['a label', (i) => ({ ...i, policies: i.policies.map((p) => ({ ...p, labels: { tier: 'gold' } })) })],
      ['a resource removed', (i) => ({ ...i, identities: i.identities.slice(1) })],
    ])('new hash: %s', (_name, change) => {
      const changed = hashOf(change(inputs()));
      expect(changed).not.toBe(base);
    });
  });

  describe('an invalid resource never breaks the bundle', () => {
    it('rejects an invalid atlas and serves the others', () => {
      const input = inputs();
      const bad = loadedAtlas(named('broken'), atVersion('1.0.0'));
      (bad.spec.actions![0]!.schema as Record<string, unknown>).type = 'string';
      const { bundle, rejected } = compileBundle({ ...input, atlases: [...input.atlases, bad] });
      expect(rejected).toEqual([
        {
          kind: 'Atlas',
          namespace: 'default',
          name: 'broken',
          errors: [{ path: '/spec/actions/0/schema/type', message: 'must be "object" (parameters are an object)' }],
        },
      ]);
      expect(bundle.atlases).toHaveLength(4);
      expect(bundle.contentHash).toBe(compileBundle(input).bundle.contentHash);
    });

    it.each<[string, Partial<BundleInput>, { kind: string; name: string; paths: string[] }[]]>([
      [
        'an atlas whose ref disagrees with its identity',
        { atlases: [{ ...loadedAtlas(), ref: 'default/ops@9.0.0' }] },
        [{ kind: 'Atlas', name: 'ops', paths: ['/ref'] }],
      ],
      [
        'an atlas with a pack left in a ConfigMap',
        { atlases: [((a: LoadedAtlas) => (delete a.spec.contextPacks![0]!.content, a))(loadedAtlas())] },
        [{ kind: 'Atlas', name: 'ops', paths: ['/spec/contextPacks/0/content'] }],
      ],
      [
        'a policy with a bad condition',
        { policies: [policy('p', { rules: [rule('r', 'deny', { time: { weekdays: ['funday' as never] } })] })] },
        [{ kind: 'Policy', name: 'p', paths: ['/spec/rules/0/when/time/weekdays/0'] }],
      ],
      [
        'a policy with an unknown spec field',
        { policies: [policy('p', { rule: [] } as never)] },
        [{ kind: 'Policy', name: 'p', paths: ['/spec/rule'] }],
      ],
      [
        'a policy with a bad redaction rule',
        { policies: [policy('p', { redaction: { rules: [{ path: 'a', mode: 'full', showChars: 2 }] } })] },
        [{ kind: 'Policy', name: 'p', paths: ['/spec/redaction/rules/0/showChars'] }],
      ],
      [
        'an identity with a bad agent id',
        { identities: [identity('x', { agentId: 'has space' })] },
        [{ kind: 'AgentIdentity', name: 'x', paths: ['/spec/agentId'] }],
      ],
      [
        'an identity with an unknown role',
        { identities: [identity('x', { roles: ['root' as never] })] },
        [{ kind: 'AgentIdentity', name: 'x', paths: ['/spec/roles/0'] }],
      ],
      [
        'an identity with a key instead of its digest',
        { identities: [identity('x', {}, 'default', ['sk-live-123'])] },
        [{ kind: 'AgentIdentity', name: 'x', paths: ['/apiKeyDigests/0'] }],
      ],
      [
        'an identity with a bad name',
        { identities: [identity('Bad_Name')] },
        [{ kind: 'AgentIdentity', name: 'Bad_Name', paths: ['/name'] }],
      ],
    ])('%s', (_name, override, expected) => {
      const input = { ...inputs(), ...override };
      const others = {
        atlases: override.atlases ? [] : input.atlases,
        policies: override.policies ? [] : input.policies,
        identities: override.identities ? [] : input.identities,
      };
      const { bundle, rejected } = compileBundle(input);
      expect(rejected.map((r) => ({ kind: r.kind, name: r.name, paths: r.errors.map((e) => e.path) }))).toEqual(
        expected,
      );
      expect(bundle).toEqual(compileBundle(others).bundle);
    });

    it('survives garbage input', () => {
      const garbage = [null, 42, 'atlas', { name: 7 }] as unknown as LoadedAtlas[];
      const { bundle, rejected } = compileBundle({
        atlases: garbage,
        policies: garbage as unknown as CompiledPolicy[],
        identities: garbage as unknown as CompiledIdentity[],
      });
      expect(bundle.atlases).toEqual([]);
      expect(rejected).toHaveLength(12);
      expect(rejected.every((r) => r.errors.length > 0)).toBe(true);
      expect(validateBundle(bundle)).toEqual([]);
    });
  });

  describe('cross-resource rules', () => {
    it('allows two versions of one atlas but rejects every copy of a duplicated ref', () => {
      const { bundle, rejected } = compileBundle({
        atlases: [
          loadedAtlas(),
          loadedAtlas((m) => void (m.description = 'other copy')),
          loadedAtlas(atVersion('1.1.0')),
        ],
        policies: [],
        identities: [],
      });
      expect(bundle.atlases.map((a) => a.ref)).toEqual(['default/ops@1.1.0']);
      expect(rejected).toEqual([
        {
          kind: 'Atlas',
          namespace: 'default',
          name: 'ops',
          errors: [{ path: '/ref', message: 'duplicate atlas ref default/ops@1.0.0 (2 atlases have it)' }],
        },
        {
          kind: 'Atlas',
          namespace: 'default',
          name: 'ops',
          errors: [{ path: '/ref', message: 'duplicate atlas ref default/ops@1.0.0 (2 atlases have it)' }],
        },
      ]);
    });

    it('rejects atlases with unmet dependencies, transitively', () => {
      const { bundle, rejected } = compileBundle({
        atlases: [
          loadedAtlas(named('top'), withDependency('middle', '^1')),
          loadedAtlas(named('middle'), withDependency('bottom', '^2')),
          loadedAtlas(named('bottom')),
          loadedAtlas(named('free')),
        ],
        policies: [],
        identities: [],
      });
      expect(bundle.atlases.map((a) => a.name)).toEqual(['bottom', 'free']);
      expect(rejected).toEqual([
        {
          kind: 'Atlas',
          namespace: 'default',
          name: 'middle',
          errors: [{ path: '/spec/dependencies/0', message: 'requires default/bottom@^2; loaded: 1.0.0' }],
        },
        {
          kind: 'Atlas',
          namespace: 'default',
          name: 'top',
          errors: [
            { path: '/spec/dependencies/0', message: 'requires default/middle@^1; no atlas default/middle is loaded' },
          ],
        },
      ]);
    });

    it.each<[string, CompiledIdentity[], string[], string]>([
      [
        'duplicate agent ids',
        [identity('a', { agentId: 'bot' }), identity('b', { agentId: 'bot' }), identity('c')],
        ['c'],
        '/spec/agentId',
      ],
      [
        'a shared API key digest',
        [
          identity('a', {}, 'default', [DIGEST_A]),
          identity('b', {}, 'default', [DIGEST_B, DIGEST_A]),
          identity('c', {}, 'default', [DIGEST_B.replace('b', 'c')]),
        ],
        ['c'],
        '/apiKeyDigests',
      ],
      [
        'the same identity twice',
        [identity('a'), identity('a', { agentId: 'other' }), identity('a', {}, 'team-a')],
        ['a'],
        '/name',
      ],
    ])('rejects every identity involved in %s', (_name, identities, kept, path) => {
      const { bundle, rejected } = compileBundle({ atlases: [], policies: [], identities });
      expect(bundle.identities.map((i) => i.name)).toEqual(kept);
      expect(rejected).toHaveLength(identities.length - 1);
      expect(rejected.every((r) => r.kind === 'AgentIdentity' && r.errors[0]?.path === path)).toBe(true);
    });

    it('rejects every copy of a duplicated policy', () => {
      const { bundle, rejected } = compileBundle({
        atlases: [],
        policies: [policy('p'), policy('p', { description: 'x' }), policy('p', {}, 'team-a')],
        identities: [],
      });
      expect(bundle.policies.map((p) => `${p.namespace}/${p.name}`)).toEqual(['team-a/p']);
      expect(rejected.map((r) => r.errors[0]?.message)).toEqual([
        'duplicate policy default/p (2 policies have it)',
        'duplicate policy default/p (2 policies have it)',
      ]);
    });
  });
});

describe('validateBundle', () => {
  const good = (): RuntimeBundle => structuredClone(compileBundle(inputs()).bundle);
  /** Re-seals the bundle after a change, so only the change itself is at fault. */
  const resealed = (b: RuntimeBundle): RuntimeBundle => {
    const contentHash = bundleContentHash(b);
    return { ...b, contentHash, version: contentHash.slice(7, 19) };
  };

  type Row = [string, (b: RuntimeBundle) => unknown, { path: string; message: RegExp }];
  const rows: Row[] = [
    [
      'tampered pack content',
      (b) => ((b.atlases[0]!.spec.contextPacks![0]!.content = 'evil'), b),
      { path: '/contentHash', message: /does not match the content/ },
    ],
    [
      'tampered identity digest',
      (b) => ((b.identities[0]!.apiKeyDigests = [DIGEST_B]), b),
      { path: '/contentHash', message: /does not match/ },
    ],
    ['a removed policy', (b) => (b.policies.pop(), b), { path: '/contentHash', message: /does not match/ }],
    [
      'a wrong version',
      (b) => ({ ...b, version: '000000000000' }),
      { path: '/version', message: /must be [0-9a-f]{12}/ },
    ],
    [
      'a malformed content hash',
      (b) => ({ ...b, contentHash: 'md5:abc' }),
      { path: '/contentHash', message: /sha256:<64 lowercase hex digits>/ },
    ],
    [
      'an unknown top-level key',
      (b) => ({ ...b, generatedAt: '2025-01-01' }),
      { path: '/generatedAt', message: /^unknown field$/ },
    ],
    [
      'an unknown key deep inside',
      (b) => resealed((((b.atlases[0]!.spec.domains[0] as unknown as Record<string, unknown>).color = 'red'), b)),
      { path: '/atlases/0/spec/domains/0/color', message: /^unknown field$/ },
    ],
    ['a wrong kind', (b) => ({ ...b, kind: 'Bundle' }), { path: '/kind', message: /must be one of "RuntimeBundle"/ }],
    [
      'a missing list',
      (b) => (delete (b as Partial<RuntimeBundle>).identities, b),
      { path: '/identities', message: /is required/ },
    ],
    [
      'an invalid policy rule, even re-sealed',
      (b) => resealed(((b.policies[0]!.spec.rules = [rule('r', 'rate_limit')]), b)),
      { path: '/policies/0/spec/rules/0/params', message: /required for effect rate_limit/ },
    ],
    [
      'an invalid atlas, even re-sealed',
      (b) => resealed(((b.atlases[0]!.spec.version = 'latest'), b)),
      { path: '/atlases/0/ref', message: /must be/ },
    ],
    [
      'a duplicated atlas, even re-sealed',
      (b) => resealed(((b.atlases = [b.atlases[0]!, b.atlases[0]!, ...b.atlases.slice(1)]), b)),
      { path: '/atlases/1/ref', message: /duplicate atlas ref "default\/app@1.0.0"/ },
    ],
    [
      'a duplicated agent id, even re-sealed',
      (b) => resealed(((b.identities[1]!.spec.agentId = 'ci-bot'), b)),
      { path: '/identities/1/spec/agentId', message: /duplicate agent id "ci-bot"/ },
    ],
    [
      'an unmet dependency, even re-sealed',
      (b) => resealed(((b.atlases = b.atlases.filter((a) => a.ref !== 'shared/base@2.0.0')), b)),
      { path: '/atlases/0/spec/dependencies/0', message: /requires shared\/base@\^2/ },
    ],
  ];
  it.each(rows)('catches %s', (_name, tamper, expected) => {
    const issues = validateBundle(tamper(good()));
    expect(issues.length, JSON.stringify(issues)).toBeGreaterThan(0);
    expect(issues[0]!.path, JSON.stringify(issues)).toBe(expected.path);
    expect(issues[0]!.message).toMatch(expected.message);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an array', []],
    ['a string', 'bundle'],
  ])('rejects %s', (_name, value) => {
    expect(validateBundle(value)).toEqual([{ path: '', message: 'must be an object' }]);
  });
});

describe('Policy and AgentIdentity specs', () => {
  it.each<[string, unknown, string[]]>([
    ['an empty policy', {}, []],
    [
      'a full policy',
      {
        description: 'd',
        selector: { atlases: { names: ['ops'], matchLabels: { tier: 'gold' } }, agents: { names: ['bot'] } },
        rules: [rule('a', 'allow')],
        rateLimits: [{ requests: 1, windowSeconds: 1 }],
        redaction: { rules: [{ path: 'a.b', mode: 'partial', showChars: 2 }] },
        approvals: { approvers: ['alice'], timeoutSeconds: 60 },
      },
      [],
    ],
    [
      'a bad selector label key',
      { selector: { agents: { matchLabels: { 'bad key': 'x' } } } },
      ['/spec/selector/agents/matchLabels/bad key'],
    ],
    ['a bad rate limit', { rateLimits: [{ requests: 0, windowSeconds: 60 }] }, ['/spec/rateLimits/0/requests']],
    [
      'a rate limit scope',
      { rateLimits: [{ requests: 1, windowSeconds: 60, scope: 'tenant' }] },
      ['/spec/rateLimits/0/scope'],
    ],
    ['redaction without rules', { redaction: {} }, ['/spec/redaction/rules']],
    [
      'a redaction path with an empty segment',
      { redaction: { rules: [{ path: 'a..b', mode: 'full' }] } },
      ['/spec/redaction/rules/0/path'],
    ],
    ['approvals timeout', { approvals: { timeoutSeconds: 0 } }, ['/spec/approvals/timeoutSeconds']],
    ['a duplicate rule id', { rules: [rule('a', 'allow'), rule('a', 'deny')] }, ['/spec/rules/1/id']],
  ])('policy: %s', (_name, spec, paths) => {
    expect(validatePolicySpec(spec, '/spec').map((i) => i.path)).toEqual(paths);
  });

  it.each<[string, unknown, string[]]>([
    ['a minimal identity', { agentId: 'bot' }, []],
    [
      'a full identity',
      {
        agentId: 'bot@acme',
        labels: { team: 'a' },
        roles: ['agent', 'approver'],
        auth: {
          apiKeySecretRef: { name: 'bot-key', key: 'sha256' },
          jwt: { issuer: 'https://idp', subject: 'bot', audiences: ['cra'] },
        },
        atlasSelector: { names: ['ops'] },
        maxRiskTier: 'high',
        rateLimit: { requests: 5, windowSeconds: 1 },
      },
      [],
    ],
    ['no agent id', {}, ['/spec/agentId']],
    ['duplicate roles', { agentId: 'bot', roles: ['agent', 'agent'] }, ['/spec/roles/1']],
    ['a bad risk tier', { agentId: 'bot', maxRiskTier: 'extreme' }, ['/spec/maxRiskTier']],
    ['jwt without subject', { agentId: 'bot', auth: { jwt: { issuer: 'https://idp' } } }, ['/spec/auth/jwt/subject']],
    [
      'a bad secret ref',
      { agentId: 'bot', auth: { apiKeySecretRef: { name: 'Bad', key: 'k' } } },
      ['/spec/auth/apiKeySecretRef/name'],
    ],
    ['a rate limit without window', { agentId: 'bot', rateLimit: { requests: 5 } }, ['/spec/rateLimit/windowSeconds']],
    ['an unknown field', { agentId: 'bot', apiKey: 'sk-123' }, ['/spec/apiKey']],
  ])('identity: %s', (_name, spec, paths) => {
    expect(validateAgentIdentitySpec(spec, '/spec').map((i) => i.path)).toEqual(paths);
  });
});

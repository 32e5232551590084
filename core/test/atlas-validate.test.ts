import { describe, expect, it } from 'vitest';
import type { LocalAtlasManifest } from '../src/atlas/types.js';
import {
  compileActionSchema,
  validateAtlasSpec,
  validateLoadedAtlas,
  validateLocalManifest,
} from '../src/atlas/validate.js';
import {
  action,
  atlas,
  atVersion,
  domain,
  fromFile,
  inDomain,
  inNamespace,
  loaded,
  named,
  ofType,
  pack,
  rule,
  set,
  withAction,
  withDependency,
  withDomain,
  withExample,
  withExecutor,
  withLabels,
  withPack,
  withPolicy,
  withSchema,
  withToolMapping,
  type AtlasModifier,
} from './fixtures/builders.js';

type Row = [string, LocalAtlasManifest, string[], RegExp];

/** Sets a member of the first action (or any path) without fighting the types. */
const firstAction = (modify: (a: Record<string, unknown>) => void): AtlasModifier =>
  set((m) => modify(m.actions![0] as unknown as Record<string, unknown>));
const firstPack = (modify: (p: Record<string, unknown>) => void): AtlasModifier =>
  set((m) => modify(m.contextPacks![0] as unknown as Record<string, unknown>));
const http = (url: string, extra: Record<string, unknown> = {}) =>
  withExecutor({ type: 'http', method: 'POST', url, baseUrl: 'https://api.example.com', ...extra } as never);

function paths(issues: { path: string }[]): string[] {
  return issues.map((i) => i.path);
}

describe('valid atlases', () => {
  it.each<[string, LocalAtlasManifest]>([
    ['the default fixture', atlas()],
    ['labels and namespace', atlas(inNamespace('team-a'), withLabels({ 'cra.dev/tier': 'gold', env: 'prod' }))],
    ['a pack from the default file', atlas(withPack(pack('runbook', fromFile())))],
    ['a pack from a named file', atlas(withPack(pack('runbook', fromFile('docs/run book.md'))))],
    ['pre-release and build metadata', atlas(atVersion('2.0.0-rc.1+build.5'))],
    [
      'an http executor with placeholders and value sources',
      atlas(
        withAction(
          action(
            'get-repo',
            withSchema({ type: 'object', properties: { owner: { type: 'string' }, repo: { type: 'string' } } }),
            withExecutor({
              type: 'http',
              method: 'GET',
              url: '/repos/{owner}/{repo}',
              baseUrl: { valueFrom: { env: 'GITHUB_API' }, default: 'https://api.github.com' },
              headers: {
                Authorization: {
                  valueFrom: { secretKeyRef: { name: 'github-token', key: 'token' } },
                  prefix: 'Bearer ',
                },
                Accept: 'application/vnd.github+json',
              },
              body: 'none',
              timeoutMs: 5000,
              response: { output: { id: '/id', name: '/full_name' }, successStatus: [200] },
            }),
          ),
        ),
      ),
    ],
    [
      'an mcp executor',
      atlas(
        withAction(
          action('search', withExecutor({ type: 'mcp', url: { value: 'http://mcp.local/mcp' }, tool: 'search' })),
        ),
      ),
    ],
    ['examples that satisfy the schema', atlas(withAction(action('ex', withExample({ repo: 'web', title: 'x' }))))],
    [
      'schema using formats and $defs',
      atlas(
        withAction(
          action(
            'fmt',
            withSchema({
              type: 'object',
              $defs: { id: { type: 'string', format: 'uuid' } },
              properties: { when: { type: 'string', format: 'date-time' }, id: { $ref: '#/$defs/id' } },
            }),
          ),
        ),
      ),
    ],
    [
      'tool mappings per platform',
      atlas(
        withToolMapping('openai', 'deploy', 'ops_deploy'),
        withToolMapping('anthropic', 'deploy', 'ops_deploy'),
        withToolMapping('mcp', 'deploy', 'ops.deploy'),
      ),
    ],
    ['dependencies', atlas(withDependency('base', '^1.2.0'), withDependency('shared/common', '>=2 <4'))],
    [
      'licence terms',
      atlas(
        set(
          (m) =>
            void (m.license = {
              type: 'enterprise',
              spdx: 'LicenseRef-Acme',
              terms: { namespaces: ['team-a'], agents: ['bot@acme'] },
            }),
        ),
      ),
    ],
    [
      'policies',
      atlas(
        withPolicy(
          rule('allow-low', 'allow', { riskTier: { lte: 'medium' } }),
          rule('deny-prod', 'deny', { parameters: { pointer: '/repo', eq: 'prod' } }),
        ),
      ),
    ],
  ])('%s', (_name, manifest) => {
    expect(validateLocalManifest(manifest)).toEqual([]);
    const { spec } = loaded(manifest);
    const resourceSpec = structuredClone(spec);
    for (const p of resourceSpec.contextPacks ?? []) {
      if (p.content !== undefined) continue;
      delete p.file;
      p.content = 'x';
    }
    expect(validateAtlasSpec(resourceSpec, '/spec')).toEqual([]);
  });
});

describe('invalid local manifests name the field', () => {
  const rows: Row[] = [
    // identity and version
    ['name not a DNS label', atlas(named('Ops_Atlas')), ['/name'], /DNS-1123 label/],
    ['name too long', atlas(named('a'.repeat(64))), ['/name'], /at most 63 characters/],
    [
      'missing version',
      atlas(set((m) => void delete (m as Partial<LocalAtlasManifest>).version)),
      ['/version'],
      /is required/,
    ],
    ['version not SemVer', atlas(atVersion('1.0')), ['/version'], /SemVer 2.0 version/],
    ['version with v prefix', atlas(atVersion('v1.0.0')), ['/version'], /SemVer/],
    [
      'version a YAML number',
      atlas(set((m) => void (m.version = 1 as unknown as string))),
      ['/version'],
      /must be a string/,
    ],
    [
      'unknown top-level field',
      atlas(set((m) => void (m.atlas_version = '0.1'))),
      ['/atlas_version'],
      /^unknown field$/,
    ],
    ['namespace invalid', atlas(inNamespace('Team_A')), ['/namespace'], /DNS-1123/],
    ['label key invalid', atlas(withLabels({ '-bad': 'x' })), ['/labels/-bad'], /label key/],
    ['label key with slash escaped', atlas(withLabels({ 'a/b/c': 'x' })), ['/labels/a~1b~1c'], /label key/],
    ['label value invalid', atlas(withLabels({ team: 'has space' })), ['/labels/team'], /label value/],
    [
      'description too long',
      atlas(set((m) => void (m.description = 'x'.repeat(4097)))),
      ['/description'],
      /at most 4096/,
    ],
    // licence
    [
      'licence type',
      atlas(set((m) => void (m.license = { type: 'gratis' as never }))),
      ['/license/type'],
      /must be one of "free"/,
    ],
    [
      'licence terms empty',
      atlas(set((m) => void (m.license = { type: 'paid', terms: {} }))),
      ['/license/terms'],
      /namespaces or agents/,
    ],
    [
      'licence terms namespace',
      atlas(set((m) => void (m.license = { type: 'paid', terms: { namespaces: ['Team A'] } }))),
      ['/license/terms/namespaces/0'],
      /namespace name/,
    ],
    [
      'licence terms agent',
      atlas(set((m) => void (m.license = { type: 'paid', terms: { agents: ['-bot'] } }))),
      ['/license/terms/agents/0'],
      /agent id/,
    ],
    // domains
    [
      'no domains',
      atlas(set((m) => void (m.domains = []))),
      ['/domains', '/contextPacks/0/domain', '/actions/0/domain'],
      /at least 1 item/,
    ],
    [
      'duplicate domain',
      atlas(withDomain(domain('ops', 'high'))),
      ['/domains/1/id'],
      /duplicate domain id "ops" \(also \/domains\/0\)/,
    ],
    [
      'domain risk tier',
      atlas(set((m) => void (m.domains[0]!.riskTier = 'extreme' as never))),
      ['/domains/0/riskTier'],
      /must be one of "low"/,
    ],
    ['domain id invalid', atlas(withDomain(domain('Git Hub'))), ['/domains/1/id'], /must be an id/],
    // packs
    [
      'pack names unknown domain',
      atlas(withPack(pack('p2', inDomain('sales')))),
      ['/contextPacks/1/domain'],
      /names no domain of this atlas \("sales"\)/,
    ],
    ['duplicate pack id', atlas(withPack(pack('guide'))), ['/contextPacks/1/id'], /duplicate pack id "guide"/],
    [
      'pack content and file',
      atlas(firstPack((p) => void (p.file = 'context/guide.md'))),
      ['/contextPacks/0'],
      /at most one of content or file/,
    ],
    [
      'pack configMapRef in the local format',
      atlas(firstPack((p) => void (p.configMapRef = { name: 'cm', key: 'k' }))),
      ['/contextPacks/0/configMapRef'],
      /^unknown field$/,
    ],
    [
      'pack file escapes the directory',
      atlas(withPack(pack('p2', fromFile('../secrets.md')))),
      ['/contextPacks/1/file'],
      /inside the atlas directory/,
    ],
    [
      'pack file absolute',
      atlas(withPack(pack('p2', fromFile('/etc/passwd')))),
      ['/contextPacks/1/file'],
      /inside the atlas directory/,
    ],
    [
      'pack format',
      atlas(firstPack((p) => void (p.format = 'html'))),
      ['/contextPacks/0/format'],
      /must be one of "markdown"/,
    ],
    ['pack ttl', atlas(firstPack((p) => void (p.ttlSeconds = 0))), ['/contextPacks/0/ttlSeconds'], /must be >= 1/],
    [
      'pack empty tag',
      atlas(firstPack((p) => void (p.tags = ['ok', '']))),
      ['/contextPacks/0/tags/1'],
      /must not be empty/,
    ],
    [
      'pack unknown field',
      atlas(firstPack((p) => void (p.source = 'context/guide.md'))),
      ['/contextPacks/0/source'],
      /^unknown field$/,
    ],
    // actions
    [
      'action names unknown domain',
      atlas(withAction(action('a2', inDomain('sales')))),
      ['/actions/1/domain'],
      /names no domain/,
    ],
    [
      'duplicate action id',
      atlas(withAction(action('deploy'))),
      ['/actions/1/id'],
      /duplicate action id "deploy" \(also \/actions\/0\)/,
    ],
    [
      'action id invalid',
      atlas(withAction(action('Deploy!', ofType('api.test.deploy_now')))),
      ['/actions/1/id'],
      /must be an id/,
    ],
    [
      'action type not dotted',
      atlas(withAction(action('a2', ofType('create_issue')))),
      ['/actions/1/type'],
      /dotted action type/,
    ],
    [
      'action type upper case',
      atlas(withAction(action('a2', ofType('api.GitHub.create')))),
      ['/actions/1/type'],
      /dotted action type/,
    ],
    ['action missing schema', atlas(firstAction((a) => void delete a.schema)), ['/actions/0/schema'], /is required/],
    [
      'action missing description',
      atlas(firstAction((a) => void delete a.description)),
      ['/actions/0/description'],
      /is required/,
    ],
    [
      'action schema not an object schema',
      atlas(firstAction((a) => void (a.schema = { type: 'string' }))),
      ['/actions/0/schema/type'],
      /must be "object"/,
    ],
    [
      'action schema invalid',
      atlas(firstAction((a) => void (a.schema = { type: 'object', properties: { n: { type: 'strin' } } }))),
      ['/actions/0/schema'],
      /not a valid JSON Schema 2020-12/,
    ],
    [
      'action schema unknown keyword',
      atlas(firstAction((a) => void (a.schema = { type: 'object', requird: ['n'] }))),
      ['/actions/0/schema'],
      /unknown keyword: "requird"/,
    ],
    [
      'action schema remote $ref',
      atlas(
        firstAction(
          (a) => void (a.schema = { type: 'object', properties: { n: { $ref: 'https://example.com/s.json' } } }),
        ),
      ),
      ['/actions/0/schema'],
      /not a valid JSON Schema/,
    ],
    [
      'action schema unknown format',
      atlas(
        firstAction(
          (a) => void (a.schema = { type: 'object', properties: { n: { type: 'string', format: 'colour' } } }),
        ),
      ),
      ['/actions/0/schema'],
      /unknown format "colour"/,
    ],
    [
      'example misses a required parameter',
      atlas(withAction(action('a2', withExample({ title: 'x' })))),
      ['/actions/1/examples/0/parameters/repo'],
      /is required/,
    ],
    [
      'example parameter of the wrong type',
      atlas(withAction(action('a2', withExample({ repo: 7 })))),
      ['/actions/1/examples/0/parameters/repo'],
      /must be a string/,
    ],
    [
      'example unknown parameter',
      atlas(withAction(action('a2', withExample({ repo: 'x', force: true })))),
      ['/actions/1/examples/0/parameters/force'],
      /^unknown field$/,
    ],
    [
      'example parameters not an object',
      atlas(withAction(action('a2', withExample([] as never)))),
      ['/actions/1/examples/0/parameters'],
      /must be an object/,
    ],
    // executors
    [
      'http executor without method',
      atlas(withAction(action('a2', http('/x', { method: undefined })))),
      ['/actions/1/executor/method'],
      /required for http/,
    ],
    [
      'http url placeholder unknown',
      atlas(withAction(action('a2', http('/repos/{owner}/{repo}')))),
      ['/actions/1/executor/url'],
      /placeholder \{owner\} is not a property/,
    ],
    [
      'http path url without baseUrl',
      atlas(withAction(action('a2', http('/x', { baseUrl: undefined })))),
      ['/actions/1/executor/baseUrl'],
      /required when url is a path/,
    ],
    [
      'http url neither absolute nor a path',
      atlas(withAction(action('a2', http('api.example.com/x')))),
      ['/actions/1/executor/url'],
      /absolute http\(s\) URL or a path/,
    ],
    [
      'http url not a string',
      atlas(withAction(action('a2', http({ value: 'https://x' } as never)))),
      ['/actions/1/executor/url'],
      /URL template string/,
    ],
    [
      'http executor with a tool',
      atlas(withAction(action('a2', http('https://x.example/a', { tool: 't' })))),
      ['/actions/1/executor/tool'],
      /not used by http/,
    ],
    [
      'http baseUrl relative',
      atlas(withAction(action('a2', http('/x', { baseUrl: 'example.com' })))),
      ['/actions/1/executor/baseUrl'],
      /absolute http\(s\) URL/,
    ],
    [
      'mcp executor without tool',
      atlas(withAction(action('a2', withExecutor({ type: 'mcp', url: 'http://mcp.local/mcp' } as never)))),
      ['/actions/1/executor/tool'],
      /required for mcp/,
    ],
    [
      'mcp executor with method',
      atlas(
        withAction(action('a2', withExecutor({ type: 'mcp', url: 'http://m/mcp', tool: 't', method: 'GET' } as never))),
      ),
      ['/actions/1/executor/method'],
      /not used by mcp/,
    ],
    [
      'executor type',
      atlas(withAction(action('a2', withExecutor({ type: 'grpc' } as never)))),
      ['/actions/1/executor/type'],
      /must be one of "http", "mcp"/,
    ],
    [
      'executor unknown field',
      atlas(withAction(action('a2', http('https://x.example/a', { retries: 3 })))),
      ['/actions/1/executor/retries'],
      /^unknown field$/,
    ],
    [
      'executor timeout',
      atlas(withAction(action('a2', http('https://x.example/a', { timeoutMs: 0 })))),
      ['/actions/1/executor/timeoutMs'],
      /must be >= 1/,
    ],
    [
      'header value source with value and valueFrom',
      atlas(
        withAction(
          action(
            'a2',
            http('https://x.example/a', { headers: { Authorization: { value: 'x', valueFrom: { env: 'TOKEN' } } } }),
          ),
        ),
      ),
      ['/actions/1/executor/headers/Authorization'],
      /exactly one of value or valueFrom/,
    ],
    [
      'header env name',
      atlas(
        withAction(
          action('a2', http('https://x.example/a', { headers: { 'X-Key': { valueFrom: { env: 'my-var' } } } })),
        ),
      ),
      ['/actions/1/executor/headers/X-Key/valueFrom/env'],
      /environment variable name/,
    ],
    [
      'header secret ref name',
      atlas(
        withAction(
          action(
            'a2',
            http('https://x.example/a', {
              headers: { 'X-Key': { valueFrom: { secretKeyRef: { name: 'Bad_Name', key: 'k' } } } },
            }),
          ),
        ),
      ),
      ['/actions/1/executor/headers/X-Key/valueFrom/secretKeyRef/name'],
      /Secret name/,
    ],
    [
      'header name',
      atlas(withAction(action('a2', http('https://x.example/a', { headers: { 'Bad Header': 'x' } })))),
      ['/actions/1/executor/headers/Bad Header'],
      /HTTP header name/,
    ],
    [
      'value source unknown field',
      atlas(withAction(action('a2', http('/x', { baseUrl: { value: 'https://a', secret: 'x' } })))),
      ['/actions/1/executor/baseUrl/secret'],
      /^unknown field$/,
    ],
    [
      'response output pointer',
      atlas(withAction(action('a2', http('https://x.example/a', { response: { output: { id: 'id' } } })))),
      ['/actions/1/executor/response/output/id'],
      /JSON Pointer/,
    ],
    [
      'response success status',
      atlas(withAction(action('a2', http('https://x.example/a', { response: { successStatus: [700] } })))),
      ['/actions/1/executor/response/successStatus/0'],
      /must be <= 599/,
    ],
    // tool mappings
    [
      'tool mapping for an unknown action',
      atlas(withToolMapping('openai', 'nope', 'nope')),
      ['/toolMappings/openai/nope'],
      /names no action of this atlas/,
    ],
    [
      'openai tool name with a dot',
      atlas(withToolMapping('openai', 'deploy', 'ops.deploy')),
      ['/toolMappings/openai/deploy'],
      /not a valid openai tool name/,
    ],
    [
      'anthropic tool name too long',
      atlas(withToolMapping('anthropic', 'deploy', 'x'.repeat(65))),
      ['/toolMappings/anthropic/deploy'],
      /not a valid anthropic tool name/,
    ],
    [
      'mcp tool name with a slash',
      atlas(withToolMapping('mcp', 'deploy', 'ops/deploy')),
      ['/toolMappings/mcp/deploy'],
      /not a valid mcp tool name/,
    ],
    [
      'duplicate tool name per platform',
      atlas(
        withAction(action('rollback')),
        withToolMapping('openai', 'deploy', 'ops'),
        withToolMapping('openai', 'rollback', 'ops'),
      ),
      ['/toolMappings/openai/rollback'],
      /tool name "ops" is also used by "deploy"/,
    ],
    [
      'unknown platform',
      atlas(set((m) => void (m.toolMappings = { gemini: {} } as never))),
      ['/toolMappings/gemini'],
      /^unknown field$/,
    ],
    // dependencies
    [
      'dependency range',
      atlas(withDependency('base', 'latest-ish')),
      ['/dependencies/0/versionRange'],
      /not a valid SemVer range/,
    ],
    [
      'dependency name',
      atlas(withDependency('Base/Atlas', '^1')),
      ['/dependencies/0/atlas'],
      /an atlas name, or <namespace>\/<name>/,
    ],
    [
      'duplicate dependency',
      atlas(withDependency('base', '^1'), withDependency('base', '^2')),
      ['/dependencies/1/atlas'],
      /duplicate dependency/,
    ],
    [
      'dependency unknown field',
      atlas(set((m) => void (m.dependencies = [{ atlas_id: 'base', versionRange: '^1' } as never]))),
      ['/dependencies/0/atlas', '/dependencies/0/atlas_id'],
      /is required/,
    ],
    // policies
    [
      'policy condition',
      atlas(withPolicy(rule('r1', 'allow', { riskTier: { eq: 'hgih' } }))),
      ['/policies/0/when/riskTier/eq'],
      /must be a risk tier/,
    ],
    [
      'policy duplicate id',
      atlas(withPolicy(rule('r1', 'allow'), rule('r1', 'deny'))),
      ['/policies/1/id'],
      /duplicate rule id/,
    ],
    [
      'policy rate limit without params',
      atlas(withPolicy(rule('r1', 'rate_limit'))),
      ['/policies/0/params'],
      /required for effect rate_limit/,
    ],
    [
      'policy unknown field',
      atlas(withPolicy({ ...rule('r1', 'allow'), condition: {} } as never)),
      ['/policies/0/condition'],
      /^unknown field$/,
    ],
  ];
  it.each(rows)('%s', (_name, manifest, expected, message) => {
    const issues = validateLocalManifest(manifest);
    expect(paths(issues)).toEqual(expected);
    expect(issues[0]!.message).toMatch(message);
  });

  it('reports every problem at once, in a stable order', () => {
    const manifest = atlas(
      named('Bad'),
      atVersion('x'),
      withPack(pack('p', inDomain('nope'))),
      withToolMapping('openai', 'ghost', 'g'),
    );
    const issues = validateLocalManifest(manifest);
    expect(paths(issues)).toEqual(['/name', '/version', '/contextPacks/1/domain', '/toolMappings/openai/ghost']);
    expect(validateLocalManifest(manifest)).toEqual(issues);
  });

  it('is not thrown off by the wrong shapes', () => {
    for (const value of [
      null,
      42,
      'atlas',
      [],
      { domains: 'ops' },
      { actions: [null, 1], contextPacks: {}, toolMappings: [] },
    ]) {
      expect(validateLocalManifest(value).length).toBeGreaterThan(0);
    }
  });
});

describe('the resource spec', () => {
  const spec = (...modifiers: AtlasModifier[]) =>
    loaded(atlas(...modifiers)).spec as unknown as Record<string, unknown>;
  const packs = (s: Record<string, unknown>) => s.contextPacks as Record<string, unknown>[];

  it('accepts inline content or a configMapRef', () => {
    const s = spec(withPack(pack('big')));
    delete packs(s)[1]!.content;
    packs(s)[1]!.configMapRef = { name: 'ops-ctx-big', key: 'content' };
    expect(validateAtlasSpec(s, '/spec')).toEqual([]);
  });

  it.each<[string, (s: Record<string, unknown>) => void, string[], RegExp]>([
    [
      'neither content nor configMapRef',
      (s) => void delete packs(s)[0]!.content,
      ['/spec/contextPacks/0'],
      /exactly one of content or configMapRef/,
    ],
    [
      'both content and configMapRef',
      (s) => void (packs(s)[0]!.configMapRef = { name: 'cm', key: 'content' }),
      ['/spec/contextPacks/0'],
      /exactly one of/,
    ],
    [
      'a file is local-only',
      (s) => void (packs(s)[0]!.file = 'context/guide.md'),
      ['/spec/contextPacks/0/file'],
      /^unknown field$/,
    ],
    [
      'configMapRef without key',
      (s) => void (delete packs(s)[0]!.content, (packs(s)[0]!.configMapRef = { name: 'cm' })),
      ['/spec/contextPacks/0/configMapRef/key'],
      /is required/,
    ],
    ['identity fields are not spec fields', (s) => void (s.name = 'ops'), ['/spec/name'], /^unknown field$/],
    [
      'domains not a list',
      (s) => void (s.domains = 'ops'),
      ['/spec/domains', '/spec/contextPacks/0/domain', '/spec/actions/0/domain'],
      /must be an array/,
    ],
  ])('%s', (_name, modify, expected, message) => {
    const s = spec();
    modify(s);
    const issues = validateAtlasSpec(s, '/spec');
    expect(paths(issues)).toEqual(expected);
    expect(issues[0]!.message).toMatch(message);
  });

  it('paths are relative to the document without a base path', () => {
    expect(paths(validateAtlasSpec({ version: '1', domains: [] }))).toEqual(['/domains', '/version']);
  });
});

describe('loaded atlases', () => {
  it('accepts a consistent loaded atlas', () => {
    expect(validateLoadedAtlas(loaded(atlas(inNamespace('team-a'))))).toEqual([]);
  });
  it.each<[string, (a: Record<string, unknown>) => void, string[]]>([
    ['ref out of step with identity', (a) => void (a.ref = 'default/ops@9.9.9'), ['/ref']],
    [
      'pack without inline content',
      (a) => void delete (a.spec as { contextPacks: Record<string, unknown>[] }).contextPacks[0]!.content,
      ['/spec/contextPacks/0/content'],
    ],
    ['labels missing', (a) => void delete a.labels, ['/labels']],
    [
      'spec checked semantically',
      (a) => void ((a.spec as { version: string }).version = '1.0'),
      ['/ref', '/spec/version'],
    ],
  ])('%s', (_name, modify, expected) => {
    const a = loaded(atlas()) as unknown as Record<string, unknown>;
    modify(a);
    expect(paths(validateLoadedAtlas(a))).toEqual(expected);
  });
});

describe('compileActionSchema', () => {
  const schema = () => ({ type: 'object', properties: { n: { type: 'integer', minimum: 1 } }, required: ['n'] });

  it('reuses the compiled validator for the same schema text, and validates with it', () => {
    const first = compileActionSchema(schema());
    const again = compileActionSchema(schema());
    expect(again).toBe(first);
    expect(again({ n: 2 })).toBe(true);
    expect(again({ n: 0 })).toBe(false);
    expect(again.errors?.[0]?.instancePath).toBe('/n');
  });

  it('compiles a different schema separately', () => {
    const other = compileActionSchema({ ...schema(), required: [] });
    expect(other).not.toBe(compileActionSchema(schema()));
    expect(other({})).toBe(true);
  });

  it('still refuses an invalid schema every time', () => {
    const bad = { type: 'object', properties: { n: { type: 'nope' } } };
    expect(() => compileActionSchema(bad)).toThrow(/type/);
    expect(() => compileActionSchema(bad)).toThrow(/type/);
  });
});

// The CRDs against a real kube-apiserver (e2e/harness, one control plane for this file): they
// install and are served as generated; the reference atlases, the samples and the examples are
// accepted by a server-side dry run with Strict field validation; invalid resources are rejected
// with messages that name the field; the status subresource, the condition map-list, printer
// columns, short names, the category and selectable fields work; and the CEL cost budget is real.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  loadAllYaml,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { ATLAS_KIND, CRA_API_VERSION, atlasToResource } from '@cra/core';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  controlPlaneBinariesAvailable,
  findControlPlaneBinaries,
  startControlPlane,
  type ControlPlane,
} from '../../e2e/harness/index.js';
import { generateCrds, type CustomResourceDefinition } from '../src/crds/generate.js';
import { AGENT_IDENTITY_NAMES, ATLAS_NAMES, CRA_GROUP, CRA_VERSION, POLICY_NAMES } from '../src/crds/names.js';
import { REASONS } from '../src/compile/gather.js';
import { CONDITION_READY } from '../src/k8s/constants.js';
import { toYaml } from '../src/crds/yaml.js';
import { ATLAS_RESOURCE_FILE, REPO_ROOT, readLocalAtlas, referenceAtlasDirs } from '../scripts/gen-crds.js';

const run = promisify(execFile);
type Json = Record<string, unknown>;

const required =
  process.env['CRA_REQUIRE_CONTROL_PLANE'] !== undefined && process.env['CRA_REQUIRE_CONTROL_PLANE'] !== '';
const haveControlPlane = controlPlaneBinariesAvailable() || process.env['USE_EXISTING_CLUSTER'] === 'true';
const skip = !haveControlPlane && !required;
/** kubectl from the harness's binaries (KUBEBUILDER_ASSETS or the build cache), when there is one. */
const kubectlPath = ((): string | undefined => {
  try {
    return findControlPlaneBinaries().kubectl;
  } catch {
    return undefined;
  }
})();
const suite = skip
  ? 'CRDs against kube-apiserver — SKIPPED: kube-apiserver/etcd not found; run scripts/build-envtest.sh or set ' +
    'KUBEBUILDER_ASSETS (CRA_REQUIRE_CONTROL_PLANE=1 turns this skip into a failure)'
  : 'CRDs against kube-apiserver';

const clone = <T>(value: T): T => structuredClone(value);

async function readDocs(path: string): Promise<Json[]> {
  return parseAllDocuments(await readFile(join(REPO_ROOT, path), 'utf8')).map((d) => d.toJS() as Json);
}

interface Rejection {
  code: number;
  message: string;
}

/** The apiserver's answer to a request that must fail. */
async function rejection(promise: Promise<unknown>): Promise<Rejection> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof ApiException)) throw error;
    const body = typeof error.body === 'string' ? (JSON.parse(error.body) as Json) : (error.body as Json);
    return { code: error.code, message: String(body.message ?? '') };
  }
  throw new Error('expected the apiserver to refuse the request');
}

describe.skipIf(skip)(suite, () => {
  let plane: ControlPlane;
  let namespace: string;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  let installed: string[];
  const crds = generateCrds();

  beforeAll(async () => {
    if (process.env['USE_EXISTING_CLUSTER'] !== 'true') findControlPlaneBinaries(); // names what is missing
    plane = await startControlPlane();
    installed = await plane.installCrds(join(REPO_ROOT, 'crds'));
    namespace = await plane.createNamespace('crds');
    custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
    core = plane.kubeConfig.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await plane?.stop();
  });

  /** A GET of raw JSON (the typed client renames fields such as x-kubernetes-*). */
  function rawGet(path: string): Promise<Json> {
    const cluster = plane.kubeConfig.getCurrentCluster()!;
    const token = plane.kubeConfig.getCurrentUser()?.token;
    return new Promise((resolve, reject) => {
      const req = request(
        `${cluster.server}${path}`,
        {
          ...(cluster.caData ? { ca: Buffer.from(cluster.caData, 'base64') } : { rejectUnauthorized: false }),
          headers: token ? { authorization: `Bearer ${token}` } : {},
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () =>
            res.statusCode === 200 ? resolve(JSON.parse(body) as Json) : reject(new Error(`${path}: ${body}`)),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  async function kubectl(...args: string[]): Promise<string> {
    const { stdout } = await run(kubectlPath!, ['--kubeconfig', plane.kubeconfigPath, ...args]);
    return stdout;
  }

  function create(
    plural: string,
    body: Json,
    options: { dryRun?: boolean; fieldValidation?: 'Strict' | 'Warn' | 'Ignore'; ns?: string } = {},
  ): Promise<Json> {
    return custom.createNamespacedCustomObject({
      group: CRA_GROUP,
      version: CRA_VERSION,
      namespace: options.ns ?? namespace,
      plural,
      body,
      fieldValidation: options.fieldValidation ?? 'Strict',
      ...(options.dryRun === false ? {} : { dryRun: 'All' }),
    }) as Promise<Json>;
  }

  /** The github-ops Atlas resource, converted by core from its directory, in the test namespace. */
  async function githubOps(): Promise<Json> {
    const { atlas } = atlasToResource(await readLocalAtlas(join(REPO_ROOT, 'atlases', 'github-ops')));
    return { ...clone(atlas), metadata: { ...atlas.metadata, namespace } } as unknown as Json;
  }

  const specOf = (resource: Json): Json => resource.spec as Json;
  const packs = (resource: Json): Json[] => specOf(resource).contextPacks as Json[];

  describe('installation', () => {
    it('installs the three CRDs, Established, with the names, short names and category', async () => {
      expect(installed.sort()).toEqual(['agentidentities.cra.dev', 'atlases.cra.dev', 'policies.cra.dev']);
      const extensions = plane.kubeConfig.makeApiClient(ApiextensionsV1Api);
      for (const crd of crds) {
        const live: V1CustomResourceDefinition = await extensions.readCustomResourceDefinition({
          name: crd.metadata.name,
        });
        const conditions = Object.fromEntries((live.status?.conditions ?? []).map((c) => [c.type, c.status]));
        expect(conditions).toMatchObject({ Established: 'True', NamesAccepted: 'True' });
        expect(live.status?.acceptedNames).toMatchObject({
          kind: crd.spec.names.kind,
          plural: crd.spec.names.plural,
          shortNames: crd.spec.names.shortNames,
          categories: ['cra'],
        });
      }
    });

    it('serves exactly the generated versions: schema, CEL rules, list types, printer columns, subresources', async () => {
      for (const crd of crds) {
        const live = await rawGet(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`);
        expect((live.spec as Json).versions).toEqual(crd.spec.versions);
      }
    });

    it('lists the resources under discovery with short names and the cra category', async () => {
      const list = await rawGet(`/apis/${CRA_GROUP}/${CRA_VERSION}`);
      const resources = (list.resources as Json[]).filter((r) => !String(r.name).includes('/'));
      expect(resources.map((r) => [r.name, r.kind, r.namespaced, r.shortNames, r.categories]).sort()).toEqual(
        [
          ['agentidentities', 'AgentIdentity', true, ['agentid', 'aid'], ['cra']],
          ['atlases', 'Atlas', true, ['atl'], ['cra']],
          ['policies', 'Policy', true, ['crapol'], ['cra']],
        ].sort(),
      );
      const subresources = (list.resources as Json[]).map((r) => r.name).filter((n) => String(n).endsWith('/status'));
      expect(subresources.sort()).toEqual(['agentidentities/status', 'atlases/status', 'policies/status']);
    });
  });

  describe('reference atlases and samples', () => {
    it('accepts every reference atlas converted by core (atlasToResource of loadLocalAtlas), unchanged', async () => {
      const dirs = await referenceAtlasDirs();
      expect(dirs.length).toBeGreaterThanOrEqual(3);
      for (const dir of dirs) {
        const { atlas, configMaps } = atlasToResource(await readLocalAtlas(dir));
        expect(configMaps).toEqual([]);
        const body = { ...clone(atlas), metadata: { ...atlas.metadata, namespace } } as unknown as Json;
        const created = await create(ATLAS_NAMES.plural, body);
        expect(created.spec, dir).toEqual(atlas.spec); // nothing pruned, nothing defaulted
      }
    });

    it('accepts the committed resource.yaml of every reference atlas', async () => {
      for (const dir of await referenceAtlasDirs()) {
        const docs = await readDocs(`${dir.slice(REPO_ROOT.length)}/${ATLAS_RESOURCE_FILE}`);
        const atlas = docs.find((d) => d.kind === ATLAS_KIND)!;
        expect(atlas.apiVersion).toBe(CRA_API_VERSION);
        (atlas.metadata as Json).namespace = namespace;
        await create(ATLAS_NAMES.plural, atlas);
      }
    });

    it('accepts packs moved to ConfigMaps (configMapRef) by atlasToResource', async () => {
      const loaded = await readLocalAtlas(join(REPO_ROOT, 'atlases', 'github-ops'));
      const { atlas, configMaps } = atlasToResource(loaded, { configMapThresholdBytes: 1 });
      expect(configMaps).toHaveLength(3);
      for (const cm of configMaps) {
        await core.createNamespacedConfigMap({
          namespace,
          body: { ...cm, metadata: { ...cm.metadata, namespace } },
          dryRun: 'All',
        });
      }
      const body = { ...clone(atlas), metadata: { ...atlas.metadata, namespace } } as unknown as Json;
      expect(packs(body).every((p) => p.configMapRef !== undefined && p.content === undefined)).toBe(true);
      await create(ATLAS_NAMES.plural, body);
    });

    it('accepts the samples and the local example identities', async () => {
      const samples = [
        ...(await readDocs('config/samples/cra_v1alpha1_atlas.yaml')),
        ...(await readDocs('config/samples/cra_v1alpha1_policy.yaml')),
        ...(await readDocs('config/samples/cra_v1alpha1_agentidentity.yaml')),
        ...(await readDocs('examples/local/identities.yaml')),
      ];
      const plurals: Record<string, string> = {
        [ATLAS_NAMES.kind]: ATLAS_NAMES.plural,
        [POLICY_NAMES.kind]: POLICY_NAMES.plural,
        [AGENT_IDENTITY_NAMES.kind]: AGENT_IDENTITY_NAMES.plural,
      };
      const kinds: string[] = [];
      for (const doc of samples) {
        kinds.push(String(doc.kind));
        if (doc.kind === 'Secret') {
          await core.createNamespacedSecret({ namespace, body: doc, dryRun: 'All' });
          continue;
        }
        const created = await create(plurals[String(doc.kind)]!, doc);
        expect(created.spec).toEqual(doc.spec);
      }
      expect(kinds).toEqual([
        'Atlas',
        'Policy',
        'Secret',
        'AgentIdentity',
        'AgentIdentity',
        'AgentIdentity',
        'AgentIdentity',
      ]);
    });

    it.skipIf(kubectlPath === undefined)(
      'reads the committed YAML with kubectl (a Go YAML reader) as the same objects',
      async () => {
        for (const dir of await referenceAtlasDirs()) {
          const path = join(dir, ATLAS_RESOURCE_FILE);
          const [atlas] = (await readDocs(path.slice(REPO_ROOT.length))).filter((d) => d.kind === ATLAS_KIND);
          // resource.yaml names namespace "default", as atlasToResource does; a dry run persists nothing.
          const out = JSON.parse(await kubectl('create', '--dry-run=server', '-o', 'json', '-f', path)) as Json;
          expect(out.spec, path).toEqual(atlas!.spec);
        }
        const out = await kubectl(
          'create',
          '--dry-run=server',
          '-o',
          'yaml',
          '-n',
          namespace,
          '-k',
          join(REPO_ROOT, 'config/samples'),
        );
        const created = parseAllDocuments(out).map((d) => d.toJS() as Json);
        expect(created.map((o) => o.kind).sort()).toEqual(['AgentIdentity', 'Atlas', 'Policy', 'Secret']);
        const [sample] = await readDocs('config/samples/cra_v1alpha1_atlas.yaml');
        expect(created.find((o) => o.kind === ATLAS_KIND)?.spec).toEqual(sample!.spec);
      },
    );
  });

  describe('invalid Atlas resources', () => {
    const cases: [string, (atlas: Json) => void, RegExp][] = [
      [
        'a string field given a number (schema)',
        (a) => (specOf(a).version = 1),
        /spec\.version: Invalid value: "integer": spec\.version in body must be of type string/,
      ],
      [
        'a risk tier outside the enum (schema)',
        (a) => (((specOf(a).domains as Json[])[0] as Json).riskTier = 'extreme'),
        /spec\.domains\[0\]\.riskTier: Unsupported value: "extreme": supported values: "low", "medium", "high", "critical"/,
      ],
      ['a missing required field (schema)', (a) => delete specOf(a).domains, /spec\.domains: Required value/],
      [
        'a pack id that is not an id (schema)',
        (a) => (packs(a)[0]!.id = 'Issues Guide'),
        /spec\.contextPacks\[0\]\.id: Invalid value: "Issues Guide": spec\.contextPacks\[0\]\.id in body should match/,
      ],
      [
        'a pack with both content and configMapRef (CEL)',
        (a) => (packs(a)[0]!.configMapRef = { name: 'github-ops-ctx-issues-guide', key: 'content' }),
        /spec\.contextPacks\[0\]\.configMapRef: Forbidden: content and configMapRef are mutually exclusive/,
      ],
      [
        'a pack without content or configMapRef (CEL)',
        (a) => delete packs(a)[1]!.content,
        /spec\.contextPacks\[1\]: Required value: must set content or configMapRef \(file is only for the local directory format/,
      ],
      [
        'a pack whose domain is not declared (CEL)',
        (a) => (packs(a)[2]!.domain = 'github.wiki'),
        /spec\.contextPacks: Invalid value: every context pack must name a domain declared in spec\.domains/,
      ],
      [
        'an action whose domain is not declared (CEL)',
        (a) => (((specOf(a).actions as Json[])[0] as Json).domain = 'github.wiki'),
        /spec\.actions: Invalid value: every action must name a domain declared in spec\.domains/,
      ],
      [
        'two domains with one id (map-list)',
        (a) => (specOf(a).domains as Json[]).push({ id: 'github.issues', name: 'Again', riskTier: 'low' }),
        /spec\.domains\[3\]: Duplicate value: \{"id":"github\.issues"\}/,
      ],
      [
        'a version that is not SemVer (CEL)',
        (a) => (specOf(a).version = 'v1.0'),
        /spec\.version: Invalid value: "v1\.0": must be a SemVer 2\.0 version such as 1\.2\.3/,
      ],
      [
        'an mcp executor with an HTTP method (CEL)',
        (a) => {
          const action = (specOf(a).actions as Json[])[0] as Json;
          action.executor = { type: 'mcp', url: 'https://mcp.example.com', tool: 'create_issue', method: 'POST' };
        },
        /spec\.actions\[0\]\.executor: Forbidden: method, body and response are only used by http executors/,
      ],
      [
        'an http executor without a method (CEL)',
        (a) => delete (((specOf(a).actions as Json[])[0] as Json).executor as Json).method,
        /spec\.actions\[0\]\.executor\.method: Required value: http executors need method/,
      ],
      [
        'an allow rule with params (CEL)',
        (a) => (((specOf(a).policies as Json[])[0] as Json).params = { requests: 1, windowSeconds: 1 }),
        /spec\.policies\[0\]\.params: Forbidden: params is not used by allow and deny rules/,
      ],
      [
        'a rate_limit rule without params (CEL messageExpression)',
        (a) => delete ((specOf(a).policies as Json[])[2] as Json).params,
        /spec\.policies\[2\]\.params: Required value: params is required for effect rate_limit/,
      ],
      [
        'licence terms naming nobody (CEL)',
        (a) => ((specOf(a).license as Json).terms = {}),
        /spec\.license\.terms: Required value: must list namespaces or agents \(omit terms to allow everyone\)/,
      ],
      [
        'a name that is not a DNS-1123 label (atlas references use it)',
        (a) => ((a.metadata as Json).name = 'github.ops'),
        /metadata\.name: Invalid value: "github\.ops": metadata\.name in body should match/,
      ],
    ];
    for (const [name, mutate, message] of cases) {
      it(`refuses ${name}`, async () => {
        const atlas = await githubOps();
        mutate(atlas);
        const refused = await rejection(create(ATLAS_NAMES.plural, atlas));
        expect(refused.code).toBe(422);
        expect(refused.message).toMatch(message);
      });
    }

    it('refuses unknown fields under Strict field validation, and prunes them otherwise', async () => {
      const atlas = await githubOps();
      specOf(atlas).owner = 'platform-team';
      packs(atlas)[0]!.file = 'context/issues-guide.md';
      const refused = await rejection(create(ATLAS_NAMES.plural, atlas));
      expect(refused.code).toBe(400);
      expect(refused.message).toMatch(/unknown field "spec\.contextPacks\[0\]\.file"/);
      expect(refused.message).toMatch(/unknown field "spec\.owner"/);
      const pruned = await create(ATLAS_NAMES.plural, atlas, { fieldValidation: 'Ignore' });
      expect(specOf(pruned).owner).toBeUndefined();
      expect(packs(pruned)[0]!.file).toBeUndefined();
    });

    it('names the local-only file field when it replaces content and is pruned', async () => {
      const atlas = await githubOps();
      delete packs(atlas)[0]!.content;
      packs(atlas)[0]!.file = 'context/issues-guide.md';
      const refused = await rejection(create(ATLAS_NAMES.plural, atlas, { fieldValidation: 'Ignore' }));
      expect(refused.message).toMatch(
        /spec\.contextPacks\[0\]: Required value: must set content or configMapRef \(file is only for the local directory format: convert with cra atlas publish\)/,
      );
    });

    it('reports every CEL problem at once, and checks CEL only once the schema is satisfied', async () => {
      const atlas = await githubOps();
      specOf(atlas).version = 'latest';
      packs(atlas)[0]!.domain = 'nowhere';
      const refused = await rejection(create(ATLAS_NAMES.plural, atlas));
      expect(refused.message).toMatch(/spec\.version: Invalid value: "latest": must be a SemVer/);
      expect(refused.message).toMatch(/spec\.contextPacks: Invalid value: every context pack must name a domain/);
      (specOf(atlas).license as Json).type = 'gratis';
      const schemaFirst = await rejection(create(ATLAS_NAMES.plural, atlas));
      expect(schemaFirst.message).toMatch(/spec\.license\.type: Unsupported value: "gratis"/);
      expect(schemaFirst.message).toMatch(/some validation rules were not checked because the object was invalid/);
      expect(schemaFirst.message).not.toMatch(/SemVer/);
    });
  });

  describe('Policy resources', () => {
    async function samplePolicy(): Promise<Json> {
      const [policy] = await readDocs('config/samples/cra_v1alpha1_policy.yaml');
      return { ...policy!, metadata: { ...(policy!.metadata as Json), namespace } };
    }

    it('accepts an empty spec (a policy with nothing in it selects everything and does nothing)', async () => {
      await create(POLICY_NAMES.plural, {
        apiVersion: CRA_API_VERSION,
        kind: 'Policy',
        metadata: { name: 'empty', namespace },
        spec: {},
      });
    });

    const cases: [string, (spec: Json) => void, RegExp][] = [
      [
        'a rate limit with a zero window (windowSeconds > 0)',
        (s) => (((s.rateLimits as Json[])[0] as Json).windowSeconds = 0),
        /spec\.rateLimits\[0\]\.windowSeconds: Invalid value: 0: spec\.rateLimits\[0\]\.windowSeconds in body should be greater than or equal to 1/,
      ],
      [
        'a rate limit without requests',
        (s) => delete ((s.rateLimits as Json[])[0] as Json).requests,
        /spec\.rateLimits\[0\]\.requests: Required value/,
      ],
      [
        'an unknown effect',
        (s) => (((s.rules as Json[])[0] as Json).effect = 'maybe'),
        /spec\.rules\[0\]\.effect: Unsupported value: "maybe"/,
      ],
      [
        'a constrain rule without params (CEL messageExpression)',
        (s) => delete ((s.rules as Json[])[1] as Json).params,
        /spec\.rules\[1\]\.params: Required value: params is required for effect constrain/,
      ],
      [
        'two rules with one id (map-list)',
        (s) => (((s.rules as Json[])[1] as Json).id = 'no-weekend-merges'),
        /spec\.rules\[1\]: Duplicate value: \{"id":"no-weekend-merges"\}/,
      ],
      [
        'showChars on a full redaction (CEL messageExpression)',
        (s) => ((((s.redaction as Json).rules as Json[])[0] as Json).mode = 'full'),
        /spec\.redaction\.rules\[0\]: Forbidden: showChars and showPosition are only used by the partial and mask modes \(mode is full\)/,
      ],
      ['a redaction section without rules', (s) => (s.redaction = {}), /spec\.redaction\.rules: Required value/],
    ];
    for (const [name, mutate, message] of cases) {
      it(`refuses ${name}`, async () => {
        const policy = await samplePolicy();
        mutate(specOf(policy));
        const refused = await rejection(create(POLICY_NAMES.plural, policy));
        expect(refused.code).toBe(422);
        expect(refused.message).toMatch(message);
      });
    }
  });

  describe('AgentIdentity resources', () => {
    async function sampleIdentity(): Promise<Json> {
      const docs = await readDocs('config/samples/cra_v1alpha1_agentidentity.yaml');
      const identity = docs.find((d) => d.kind === 'AgentIdentity')!;
      return { ...identity, metadata: { ...(identity.metadata as Json), namespace } };
    }

    it('accepts an identity without auth (it never authenticates) and with only a JWT', async () => {
      const bare = await sampleIdentity();
      delete specOf(bare).auth;
      await create(AGENT_IDENTITY_NAMES.plural, bare);
      const jwtOnly = await sampleIdentity();
      delete (specOf(jwtOnly).auth as Json).apiKeySecretRef;
      await create(AGENT_IDENTITY_NAMES.plural, jwtOnly);
    });

    const cases: [string, (spec: Json) => void, RegExp][] = [
      [
        'auth without credentials (CEL)',
        (s) => (s.auth = {}),
        /spec\.auth: Required value: must set apiKeySecretRef, jwt or both \(omit auth for an identity that cannot authenticate\)/,
      ],
      ['a missing agentId', (s) => delete s.agentId, /spec\.agentId: Required value/],
      [
        'an agentId with a space',
        (s) => (s.agentId = 'coding agent'),
        /spec\.agentId: Invalid value: "coding agent": spec\.agentId in body should match/,
      ],
      ['a role twice (set)', (s) => (s.roles = ['agent', 'agent']), /spec\.roles\[1\]: Duplicate value: "agent"/],
      ['an unknown role', (s) => (s.roles = ['root']), /spec\.roles\[0\]: Unsupported value: "root"/],
      [
        'a JWT without a subject',
        (s) => delete ((s.auth as Json).jwt as Json).subject,
        /spec\.auth\.jwt\.subject: Required value/,
      ],
      [
        'an unknown maximum risk tier',
        (s) => (s.maxRiskTier = 'extreme'),
        /spec\.maxRiskTier: Unsupported value: "extreme"/,
      ],
      [
        'a rate limit with a zero window',
        (s) => ((s.rateLimit as Json).windowSeconds = 0),
        /spec\.rateLimit\.windowSeconds: Invalid value: 0: .*greater than or equal to 1/,
      ],
    ];
    for (const [name, mutate, message] of cases) {
      it(`refuses ${name}`, async () => {
        const identity = await sampleIdentity();
        mutate(specOf(identity));
        const refused = await rejection(create(AGENT_IDENTITY_NAMES.plural, identity));
        expect(refused.code).toBe(422);
        expect(refused.message).toMatch(message);
      });
    }
  });

  describe('status subresource', () => {
    const target = { group: CRA_GROUP, version: CRA_VERSION, plural: ATLAS_NAMES.plural, name: 'github-ops' };
    const readyCondition = (status: string, reason: string, generation: number): Json => ({
      type: CONDITION_READY,
      status,
      reason,
      message: status === 'True' ? 'in bundle 0123456789ab' : 'spec.version: must be SemVer',
      lastTransitionTime: '2026-01-01T00:00:00Z',
      observedGeneration: generation,
    });
    const get = async (): Promise<Json> => (await custom.getNamespacedCustomObject({ ...target, namespace })) as Json;

    beforeAll(async () => {
      const atlas = await githubOps();
      const created = await create(
        ATLAS_NAMES.plural,
        { ...atlas, status: { observedGeneration: 99 } },
        { dryRun: false },
      );
      expect(created.status).toBeUndefined(); // status is not written through the main resource
      expect((created.metadata as Json).generation).toBe(1);
    });

    it('is written through /status with observedGeneration and conditions, without bumping generation', async () => {
      await custom.patchNamespacedCustomObjectStatus(
        {
          ...target,
          namespace,
          body: {
            status: {
              observedGeneration: 1,
              ref: `${namespace}/github-ops@1.0.0`,
              actions: 5,
              contextPacks: 3,
              bundleVersion: '0123456789ab',
              conditions: [readyCondition('True', REASONS.published, 1)],
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const atlas = await get();
      expect((atlas.metadata as Json).generation).toBe(1);
      expect(atlas.status).toMatchObject({
        observedGeneration: 1,
        actions: 5,
        conditions: [{ type: 'Ready', status: 'True', reason: 'Published', observedGeneration: 1 }],
      });
    });

    it('ignores status in writes to the resource, which bump generation', async () => {
      await custom.patchNamespacedCustomObject(
        {
          ...target,
          namespace,
          body: { spec: { description: 'changed' }, status: { observedGeneration: 42, actions: 0 } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const atlas = await get();
      expect((atlas.metadata as Json).generation).toBe(2);
      expect(specOf(atlas).description).toBe('changed');
      expect(atlas.status).toMatchObject({ observedGeneration: 1, actions: 5 });
    });

    it('validates status: condition status, reason and required members', async () => {
      const bad = { ...readyCondition('Maybe', 'not a reason!', 2) };
      delete bad.lastTransitionTime;
      const refused = await rejection(
        custom.patchNamespacedCustomObjectStatus(
          { ...target, namespace, body: { status: { conditions: [bad] } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
      expect(refused.code).toBe(422);
      expect(refused.message).toMatch(/status\.conditions\[0\]\.status: Unsupported value: "Maybe"/);
      expect(refused.message).toMatch(/status\.conditions\[0\]\.reason: Invalid value: "not a reason!"/);
      expect(refused.message).toMatch(/status\.conditions\[0\]\.lastTransitionTime: Required value/);
    });

    it('merges conditions per type under server-side apply (a map-list keyed by type)', async () => {
      const apply = (manager: string, conditions: Json[], extra: Json = {}): Promise<unknown> =>
        custom.patchNamespacedCustomObjectStatus(
          {
            ...target,
            namespace,
            fieldManager: manager,
            force: true,
            body: {
              apiVersion: CRA_API_VERSION,
              kind: ATLAS_KIND,
              metadata: { name: target.name, namespace },
              status: { ...extra, conditions },
            },
          },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
        );
      await apply('cra-operator', [readyCondition('False', REASONS.invalidSpec, 2)], {
        observedGeneration: 2,
      });
      await apply('cra-progress', [
        {
          type: 'Reconciling', // a type the operator does not write: the map-list keeps it beside Ready
          status: 'True',
          reason: 'Progressing',
          message: 'compiling generation 2',
          lastTransitionTime: '2026-01-01T00:00:01Z',
        },
      ]);
      await apply('cra-operator', [readyCondition('True', REASONS.published, 2)], { observedGeneration: 2 });
      const status = (await get()).status as Json;
      const byType = Object.fromEntries((status.conditions as Json[]).map((c) => [c.type, [c.status, c.reason]]));
      expect(byType).toEqual({ Ready: ['True', 'Published'], Reconciling: ['True', 'Progressing'] });
      expect(status.observedGeneration).toBe(2);
      const duplicate = await rejection(
        custom.patchNamespacedCustomObjectStatus(
          {
            ...target,
            namespace,
            body: {
              status: {
                conditions: [
                  readyCondition('True', REASONS.published, 2),
                  readyCondition('False', REASONS.invalidSpec, 2),
                ],
              },
            },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
      expect(duplicate.message).toMatch(/status\.conditions\[1\]: Duplicate value: \{"type":"Ready"\}/);
    });
  });

  describe.skipIf(kubectlPath === undefined)('kubectl', () => {
    let kubectlNamespace: string;
    beforeAll(async () => {
      kubectlNamespace = await plane.createNamespace('kubectl');
      await kubectl('create', '-n', kubectlNamespace, '-k', join(REPO_ROOT, 'config/samples'));
      await custom.patchNamespacedCustomObjectStatus(
        {
          group: CRA_GROUP,
          version: CRA_VERSION,
          plural: ATLAS_NAMES.plural,
          name: 'github-ops',
          namespace: kubectlNamespace,
          body: {
            status: {
              observedGeneration: 1,
              actions: 5,
              contextPacks: 3,
              bundleVersion: '0123456789ab',
              conditions: [
                {
                  type: 'Ready',
                  status: 'True',
                  reason: REASONS.published,
                  message: 'in bundle 0123456789ab',
                  lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
                },
              ],
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    });

    const table = (text: string): string[][] =>
      text
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s{2,}/));

    it('shows the printer columns for kubectl get atlases, and the wide ones with -o wide', async () => {
      const [header, row] = table(await kubectl('get', 'atlases', '-n', kubectlNamespace));
      expect(header).toEqual(['NAME', 'VERSION', 'ACTIONS', 'READY', 'REASON', 'AGE']);
      expect(row?.slice(0, 5)).toEqual(['github-ops', '1.0.0', '5', 'True', 'Published']);
      const [wideHeader, wideRow] = table(await kubectl('get', 'atl', '-o', 'wide', '-n', kubectlNamespace));
      expect(wideHeader).toEqual(['NAME', 'VERSION', 'ACTIONS', 'READY', 'REASON', 'AGE', 'PACKS', 'BUNDLE']);
      expect(wideRow?.slice(-2)).toEqual(['3', '0123456789ab']);
    });

    it("lists every CRA resource under the cra category, with each kind's columns", async () => {
      const out = await kubectl('get', 'cra', '-n', kubectlNamespace);
      expect(out).toMatch(
        /^NAME\s+AGENT\s+MAX-RISK\s+READY\s+REASON\s+AGE\n.*agentidentity\.cra\.dev\/coding-agent\s+coding-agent\s+medium/m,
      );
      expect(out).toMatch(/^NAME\s+VERSION\s+ACTIONS\s+READY\s+REASON\s+AGE\n.*atlas\.cra\.dev\/github-ops\s+1\.0\.0/m);
      expect(out).toMatch(/^NAME\s+RULES\s+READY\s+REASON\s+AGE\n.*policy\.cra\.dev\/github-guardrails/m);
    });

    it('resolves the short names and selects identities by agent id (selectable field)', async () => {
      expect(await kubectl('get', 'crapol', '-n', kubectlNamespace, '-o', 'name')).toBe(
        'policy.cra.dev/github-guardrails\n',
      );
      expect(await kubectl('get', 'aid', '-n', kubectlNamespace, '-o', 'name')).toBe(
        'agentidentity.cra.dev/coding-agent\n',
      );
      const selected = (agentId: string): Promise<string> =>
        kubectl('get', 'agentid', '-n', kubectlNamespace, '-o', 'name', '--field-selector', `spec.agentId=${agentId}`);
      expect(await selected('coding-agent')).toBe('agentidentity.cra.dev/coding-agent\n');
      expect(await selected('someone-else')).toBe('');
      const versions = await kubectl(
        'get',
        'atlases',
        '-n',
        kubectlNamespace,
        '-o',
        'name',
        '--field-selector',
        'spec.version=1.0.0',
      );
      expect(versions).toBe('atlas.cra.dev/github-ops\n');
    });
  });

  describe('CEL cost budget', () => {
    /** Sent as a client-node model: the typed API drops JSON-named keys (x-kubernetes-*) of plain objects. */
    const asModel = (crd: CustomResourceDefinition): V1CustomResourceDefinition =>
      loadAllYaml(toYaml(crd))[0] as V1CustomResourceDefinition;

    it('would refuse the Atlas CRD if its lists and ids were unbounded: the bounds are what make the rules fit', async () => {
      const crd = clone(crds[0]!);
      crd.metadata.name = `unboundedatlases.${CRA_GROUP}`;
      crd.spec.names = {
        kind: 'UnboundedAtlas',
        listKind: 'UnboundedAtlasList',
        plural: 'unboundedatlases',
        singular: 'unboundedatlas',
        shortNames: [],
        categories: [],
      };
      const spec = ((crd.spec.versions[0]!.schema.openAPIV3Schema.properties as Json).spec as Json).properties as Json;
      for (const list of ['domains', 'contextPacks', 'actions']) {
        const node = spec[list] as Json;
        delete node.maxItems;
        for (const field of ['id', 'domain'])
          delete (((node.items as Json).properties as Json)[field] as Json | undefined)?.maxLength;
      }
      const extensions = plane.kubeConfig.makeApiClient(ApiextensionsV1Api);
      const refused = await rejection(extensions.createCustomResourceDefinition({ body: asModel(crd), dryRun: 'All' }));
      expect(refused.code).toBe(422);
      expect(refused.message).toMatch(
        /openAPIV3Schema\.properties\[spec\]\.x-kubernetes-validations\[0\]\.rule: Forbidden: estimated rule cost exceeds budget/,
      );
      // The same CRD with the bounds is accepted (a dry run under the other name).
      const bounded = {
        ...clone(crds[0]!),
        metadata: crd.metadata,
        spec: { ...clone(crds[0]!).spec, names: crd.spec.names },
      };
      await extensions.createCustomResourceDefinition({ body: asModel(bounded), dryRun: 'All' });
    });
  });
});

// The committed CRDs, atlas resources and samples are what the generator makes from core, and
// each CRD's spec schema is core's schema up to the documented transformation — so core and the
// CRDs cannot drift apart. Also: structural rules, bounded schemas, columns that name real fields,
// and docs/reference/resources.md describing exactly what the CRDs contain.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ATLAS_KIND,
  CRA_API_VERSION,
  atlasFromResource,
  validateAgentIdentitySpec,
  validatePolicySpec,
} from '@cra/core';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  KINDS,
  crdFileName,
  crdSpecSchema,
  generateCrds,
  type CustomResourceDefinition,
  type KindDefinition,
} from '../src/crds/generate.js';
import { CRA_GROUP, CRA_VERSION } from '../src/crds/names.js';
import { REASONS } from '../src/compile/gather.js';
import { CONDITION_READY, GROUP, PLURALS, VERSION } from '../src/k8s/constants.js';
import {
  OVERLAY_KEYWORDS,
  StructuralSchemaError,
  applyOverlays,
  toStructural,
  type CelRule,
  type JsonSchema,
} from '../src/crds/structural.js';
import {
  ATLAS_RESOURCE_FILE,
  REPO_ROOT,
  SAMPLE_ATLAS_FILE,
  driftedFiles,
  generatedFiles,
  readLocalAtlas,
  referenceAtlasDirs,
} from '../scripts/gen-crds.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

async function readDocs(path: string): Promise<Json[]> {
  const text = await readFile(join(REPO_ROOT, path), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as Json);
}

/** Every schema node with its JSON Pointer. */
function* nodes(schema: Json, path = ''): Generator<[string, Json]> {
  yield [path, schema];
  if (isObject(schema.properties)) {
    for (const [name, sub] of Object.entries(schema.properties))
      yield* nodes(sub as Json, `${path}/properties/${name}`);
  }
  if (isObject(schema.items)) yield* nodes(schema.items, `${path}/items`);
  if (isObject(schema.additionalProperties)) yield* nodes(schema.additionalProperties, `${path}/additionalProperties`);
}

const schemaOf = (crd: CustomResourceDefinition): Json => crd.spec.versions[0]!.schema.openAPIV3Schema;

/**
 * The documented transformation, written independently of the generator: drop
 * `additionalProperties: false` and `$id`/`$schema`/`$comment`, then add the overlays' keywords.
 */
function expectedSpecSchema(kind: KindDefinition): Json {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (!isObject(value)) return value;
    const out: Json = {};
    for (const [key, sub] of Object.entries(value)) {
      if (key === 'additionalProperties' && sub === false) continue;
      if (key === '$id' || key === '$schema' || key === '$comment') continue;
      // enum/required/default hold data, not schemas
      out[key] = key === 'enum' || key === 'required' || key === 'default' ? structuredClone(sub) : strip(sub);
    }
    return out;
  };
  const schema = strip(kind.coreSpecSchema) as Json;
  for (const { path, ...keywords } of kind.specOverlays) {
    let node: Json = schema;
    for (const token of path.split('/').slice(1)) node = node[token] as Json;
    expect(node, `${kind.names.kind} overlay ${path}`).toBeDefined();
    for (const [key, value] of Object.entries(keywords)) {
      expect(OVERLAY_KEYWORDS as readonly string[], `${kind.names.kind} overlay ${path}`).toContain(key);
      expect(node[key], `${kind.names.kind} overlay ${path} must only add ${key}`).toBeUndefined();
      node[key] = value;
    }
  }
  return schema;
}

function celRules(schema: Json): { path: string; rule: CelRule }[] {
  const out: { path: string; rule: CelRule }[] = [];
  for (const [path, node] of nodes(schema)) {
    for (const rule of (node['x-kubernetes-validations'] ?? []) as CelRule[]) out.push({ path, rule });
  }
  return out;
}

describe('generated files', () => {
  it('are committed as the generator writes them (run `npm run gen:crds` after changing core schemas or atlases)', async () => {
    expect(await driftedFiles()).toEqual([]);
  });

  it('cover the three CRDs, every reference atlas and the Atlas sample', async () => {
    const files = [...(await generatedFiles()).keys()];
    const atlasDirs = (await referenceAtlasDirs()).map((d) => d.slice(REPO_ROOT.length));
    expect(atlasDirs.length).toBeGreaterThanOrEqual(3);
    expect(files.sort()).toEqual(
      [
        'crds/agentidentities.cra.dev.yaml',
        'crds/atlases.cra.dev.yaml',
        'crds/policies.cra.dev.yaml',
        ...atlasDirs.map((d) => `${d}/${ATLAS_RESOURCE_FILE}`),
        SAMPLE_ATLAS_FILE,
      ].sort(),
    );
  });

  it('parse back to the generated CRDs', async () => {
    for (const crd of generateCrds()) {
      expect(await readDocs(`crds/${crdFileName(crd)}`)).toEqual([crd]);
    }
  });

  it('hold each reference atlas faithfully: the resource converts back to the loaded directory', async () => {
    for (const dir of await referenceAtlasDirs()) {
      const loaded = await readLocalAtlas(dir);
      const docs = await readDocs(`${dir.slice(REPO_ROOT.length)}/${ATLAS_RESOURCE_FILE}`);
      const atlas = docs.find((d) => d.kind === ATLAS_KIND);
      const configMaps = docs.filter((d) => d.kind === 'ConfigMap');
      const data = (ns: string, name: string, key: string): string | undefined => {
        const cm = configMaps.find((c) => (c.metadata as Json).name === name && (c.metadata as Json).namespace === ns);
        return (cm?.data as Record<string, string> | undefined)?.[key];
      };
      expect(atlas?.apiVersion).toBe(CRA_API_VERSION);
      expect(atlasFromResource(atlas, data)).toEqual({ atlas: loaded });
    }
  });
});

describe('CRD spec schemas', () => {
  for (const kind of KINDS) {
    describe(kind.names.kind, () => {
      const crd = generateCrds().find((c) => c.spec.names.kind === kind.names.kind)!;
      const schema = schemaOf(crd);
      const spec = (schema.properties as Json).spec as Json;

      it("equal core's schema, without additionalProperties: false, plus the overlays", () => {
        expect(spec).toEqual(expectedSpecSchema(kind));
        expect(crdSpecSchema(kind)).toEqual(spec);
      });

      it('are structural: every node typed (but free-form ones), no additionalProperties: false', () => {
        for (const [path, node] of nodes(schema)) {
          const free =
            node['x-kubernetes-preserve-unknown-fields'] === true || node['x-kubernetes-int-or-string'] === true;
          if (!free) expect(typeof node.type, `${path} has a type`).toBe('string');
          expect(node.additionalProperties, path).not.toBe(false);
          expect(node.properties !== undefined && node.additionalProperties !== undefined, path).toBe(false);
          for (const key of ['$ref', 'oneOf', 'anyOf', 'allOf', 'not', 'const', 'uniqueItems', '$id', '$schema']) {
            expect(node[key], `${path} ${key}`).toBeUndefined();
          }
        }
      });

      it('bound every list, map and free string of the spec (the CEL cost estimate needs it)', () => {
        for (const [path, node] of nodes(spec)) {
          if (node.type === 'array') expect(node.maxItems, `${path} maxItems`).toBeTypeOf('number');
          if (node.type === 'object' && node.additionalProperties !== undefined) {
            expect(node.maxProperties, `${path} maxProperties`).toBeTypeOf('number');
          }
          if (node.type === 'string' && node.enum === undefined) {
            expect(node.maxLength, `${path} maxLength`).toBeTypeOf('number');
          }
        }
      });

      it('give every CEL rule a message and a known reason', () => {
        const rules = celRules(schema);
        for (const { path, rule } of rules) {
          expect(rule.message, `${path}: ${rule.rule}`).toMatch(/\S/);
          if (rule.reason !== undefined) {
            expect(['FieldValueInvalid', 'FieldValueForbidden', 'FieldValueRequired', 'FieldValueDuplicate']).toContain(
              rule.reason,
            );
          }
          // Rules never read free-form values, whose size the apiserver cannot bound.
          expect(rule.rule, path).not.toMatch(/\.(schema|when|parameters|headers)\b/);
        }
      });

      it('have printer columns and selectable fields that name fields of the schema', () => {
        const version = crd.spec.versions[0]!;
        const columns = version.additionalPrinterColumns;
        expect(columns.map((c) => c.name)).toEqual(expect.arrayContaining(['Ready', 'Reason', 'Age']));
        const paths = [...columns.map((c) => c.jsonPath), ...(version.selectableFields ?? []).map((f) => f.jsonPath)];
        for (const jsonPath of paths) {
          if (jsonPath === '.metadata.creationTimestamp') continue;
          let node: Json = schema;
          const segments = [...jsonPath.matchAll(/\.(\w+)(?:\[\?\(@\.type=="(\w+)"\)\])?/g)];
          expect(segments.map((m) => m[0]).join(''), jsonPath).toBe(jsonPath);
          for (const [, name, filter] of segments) {
            node = (node.properties as Json | undefined)?.[name!] as Json;
            expect(node, `${jsonPath}: ${name}`).toBeDefined();
            if (filter !== undefined) {
              expect(filter).toBe(CONDITION_READY);
              node = node.items as Json;
            }
          }
          expect(['string', 'integer', 'boolean'], jsonPath).toContain(node.type);
        }
      });
    });
  }
});

describe('the transformation', () => {
  it('refuses keywords that have no CRD meaning instead of dropping them', () => {
    const cases: [object, RegExp][] = [
      [{ type: 'object', properties: { a: { $ref: '#/x' } } }, /\/properties\/a: keyword "\$ref"/],
      [{ type: 'string', const: 'x' }, /keyword "const"/],
      [{ oneOf: [{ type: 'string' }] }, /keyword "oneOf"/],
      [{ type: 'array', items: { type: 'string' }, uniqueItems: true }, /keyword "uniqueItems"/],
      [{ type: 'object', properties: { a: { maxLength: 3 } } }, /\/properties\/a: has no type/],
      [{ type: ['string', 'null'] }, /type must be one of/],
      [{ type: 'object', additionalProperties: true }, /additionalProperties must be false or a schema/],
      [{ type: 'object', properties: {}, additionalProperties: { type: 'string' } }, /mutually exclusive/],
      [{ type: 'array' }, /needs an items schema/],
    ];
    for (const [schema, message] of cases) {
      expect(() => toStructural(schema)).toThrow(StructuralSchemaError);
      expect(() => toStructural(schema)).toThrow(message);
    }
  });

  it('keeps free-form nodes and drops only additionalProperties: false and $id/$schema', () => {
    const core = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      additionalProperties: false,
      properties: {
        free: { 'x-kubernetes-preserve-unknown-fields': true },
        map: { type: 'object', maxProperties: 2, additionalProperties: { type: 'string', maxLength: 3 } },
        withDefault: { type: 'integer', default: 3 },
      },
    };
    const before = structuredClone(core);
    expect(toStructural(core)).toEqual({
      type: 'object',
      properties: {
        free: { 'x-kubernetes-preserve-unknown-fields': true },
        map: { type: 'object', maxProperties: 2, additionalProperties: { type: 'string', maxLength: 3 } },
        withDefault: { type: 'integer', default: 3 },
      },
    });
    expect(core).toEqual(before);
  });

  it('refuses overlays whose node is gone or that would replace what core says', () => {
    const schema = (): JsonSchema => toStructural({ type: 'object', properties: { a: { type: 'string' } } });
    expect(() => applyOverlays(schema(), [{ path: '/properties/b', description: 'x' }])).toThrow(/does not exist/);
    expect(() => applyOverlays(schema(), [{ path: '/properties/a', 'x-kubernetes-list-type': 'set' }])).toThrow(
      /needs type: array/,
    );
    const once = applyOverlays(schema(), [{ path: '', description: 'x' }]);
    expect(() => applyOverlays(once, [{ path: '', description: 'y' }])).toThrow(/would replace description/);
  });
});

describe('names', () => {
  const crds = generateCrds();

  it('match core and the spec: cra.dev/v1alpha1, namespaced, served and stored, status subresource', () => {
    expect(`${CRA_GROUP}/${CRA_VERSION}`).toBe(CRA_API_VERSION);
    expect(crds.map((c) => [c.metadata.name, c.spec.names.kind])).toEqual([
      ['atlases.cra.dev', ATLAS_KIND],
      ['policies.cra.dev', 'Policy'],
      ['agentidentities.cra.dev', 'AgentIdentity'],
    ]);
    for (const crd of crds) {
      expect(crd.spec.scope).toBe('Namespaced');
      expect(crd.spec.names.categories).toEqual(['cra']);
      expect(crd.spec.versions).toHaveLength(1);
      expect(crd.spec.versions[0]).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
      expect(crd.spec.versions[0]!.subresources).toEqual({ status: {} });
    }
  });

  it("are the operator's: group, version and plurals of k8s/constants.ts", () => {
    expect([GROUP, VERSION]).toEqual([CRA_GROUP, CRA_VERSION]);
    expect(Object.fromEntries(crds.map((c) => [c.spec.names.kind, c.spec.names.plural]))).toEqual(PLURALS);
  });

  it('use short names that are unique and clash with no common ones', () => {
    const common = ['po', 'svc', 'ns', 'no', 'cm', 'deploy', 'ds', 'rs', 'sts', 'ing', 'netpol', 'pol', 'cpol', 'polr'];
    const shortNames = crds.flatMap((c) => c.spec.names.shortNames);
    expect(new Set(shortNames).size).toBe(shortNames.length);
    for (const name of shortNames) expect(common).not.toContain(name);
  });
});

describe('samples', () => {
  it('are valid for core too (the operator would publish them)', async () => {
    const docs = [
      ...(await readDocs('config/samples/cra_v1alpha1_policy.yaml')),
      ...(await readDocs('config/samples/cra_v1alpha1_agentidentity.yaml')),
    ];
    const policy = docs.find((d) => d.kind === 'Policy');
    const identity = docs.find((d) => d.kind === 'AgentIdentity');
    expect(validatePolicySpec(policy?.spec, '/spec')).toEqual([]);
    expect(validateAgentIdentitySpec(identity?.spec, '/spec')).toEqual([]);
    const secret = docs.find((d) => d.kind === 'Secret');
    const ref = ((identity?.spec as Json).auth as Json).apiKeySecretRef as Json;
    expect((secret?.metadata as Json).name).toBe(ref.name);
    expect((secret?.stringData as Json)[ref.key as string]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('are listed by the kustomization', async () => {
    const [kustomization] = await readDocs('config/samples/kustomization.yaml');
    expect(kustomization?.resources).toEqual([
      'cra_v1alpha1_atlas.yaml',
      'cra_v1alpha1_policy.yaml',
      'cra_v1alpha1_agentidentity.yaml',
    ]);
  });
});

describe('docs/reference/resources.md', () => {
  it("names every short name, printer column, CEL message, status field, and the operator's condition reasons", async () => {
    const doc = await readFile(join(REPO_ROOT, 'docs/reference/resources.md'), 'utf8');
    const missing: string[] = [];
    const need = (text: string): void => {
      if (!doc.includes(text)) missing.push(text);
    };
    for (const crd of generateCrds()) {
      const schema = schemaOf(crd);
      need(`\`${crd.metadata.name}\``);
      for (const short of crd.spec.names.shortNames) need(`\`${short}\``);
      for (const column of crd.spec.versions[0]!.additionalPrinterColumns) {
        need(`\`${column.name}\``);
        need(`\`${column.jsonPath}\``);
      }
      for (const { rule } of celRules(schema)) need(rule.message!);
      const status = (schema.properties as Json).status as Json;
      for (const field of Object.keys(status.properties as Json)) need(`\`status.${field}\``);
    }
    need(`\`${CONDITION_READY}\``);
    for (const reason of Object.values(REASONS)) need(`| \`${reason}\` |`);
    expect(missing).toEqual([]);
  });
});

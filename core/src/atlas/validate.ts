/**
 * Atlas validation: the structural schema (`schema.ts`) plus the semantic checks it cannot
 * express. Every issue names its member by JSON Pointer relative to the validated document
 * (prefixed with `basePath`, e.g. `/spec` for a resource).
 *
 * Semantic checks: SemVer version; unique domain/pack/action ids; packs and actions name a
 * declared domain; one content source per pack (resource: `content` xor `configMapRef`;
 * local: at most one of `content`/`file`, neither = `context/<id>.md`; loaded: `content`);
 * `file` stays inside the atlas directory; each action `schema` compiles as a JSON Schema
 * 2020-12 object schema and its examples satisfy it; executor shape (http: `method` + `url`
 * whose `{placeholders}` are schema properties; mcp: `url` + `tool`); tool mappings name known
 * actions with names valid and unique per platform; dependency ranges; licence terms; policy
 * rules (`policy/validate.ts`).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import semver from 'semver';
import { policyRuleSemanticIssues } from '../policy/validate.js';
import { isValidPointer, joinPointer } from '../policy/pointer.js';
import { isDnsLabel, labelKeyIssues, lazyValidator, schemaIssues, type FieldIssue } from '../structural-schema.js';
import { atlasSpecSchema, loadedAtlasSchema, localAtlasManifestSchema, type PackMode } from './schema.js';
import { atlasRef, PLATFORMS, type Platform } from './types.js';

// ajv-formats is CommonJS; under NodeNext its default export arrives untyped for Ajv2020.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Issues = FieldIssue[];
type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function items(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

// ---------------------------------------------------------------------------------------------
// Action parameter schemas

/**
 * The Ajv that compiles action parameter schemas (JSON Schema 2020-12, standard formats).
 * Unknown keywords and formats are errors (typos are caught at validation, not at execute);
 * remote `$ref`s cannot resolve (no I/O). The runtime validates parameters with the same setup.
 */
export function createActionSchemaAjv(): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    allowUnionTypes: true,
  });
  addFormats(ajv);
  return ajv;
}

let sharedAjv: Ajv2020 | undefined;

function declaresId(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(declaresId);
  return Object.hasOwn(value, '$id') || Object.values(value).some(declaresId);
}

/** Compiled parameter schemas by their JSON text: a bundle recompiled on every change reuses them. */
const compiled = new Map<string, ValidateFunction>();
const COMPILED_MAX = 1024;

/**
 * Compiles an action's parameter schema. Throws with Ajv's message if it is invalid. Schemas
 * are compiled in one shared Ajv and removed from it right after, so schemas never see each
 * other; a schema declaring `$id` somewhere gets a fresh Ajv (ids must not leak between them).
 * Results are memoized by the schema's JSON text (least recently used evicted first), so the
 * same schema validated again costs a lookup.
 */
export function compileActionSchema(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const hit = compiled.get(key);
  if (hit) {
    compiled.delete(key);
    compiled.set(key, hit);
    return hit;
  }
  const validate = compileFresh(schema);
  compiled.set(key, validate);
  if (compiled.size > COMPILED_MAX) compiled.delete(compiled.keys().next().value!);
  return validate;
}

function compileFresh(schema: Record<string, unknown>): ValidateFunction {
  if (declaresId(schema)) return createActionSchemaAjv().compile(schema);
  const ajv = (sharedAjv ??= createActionSchemaAjv());
  try {
    return ajv.compile(schema);
  } finally {
    ajv.removeSchema(schema);
  }
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** `{name}` placeholders of a URL template, in order. */
export function urlPlaceholders(url: string): string[] {
  return [...url.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

function actionSchemaIssues(action: Json, path: string): { issues: Issues; validate?: ValidateFunction } {
  const schema = action.schema;
  if (!isObject(schema)) return { issues: [] }; // the structural schema reports it
  const issues: Issues = [];
  if (schema.type !== 'object')
    issues.push({ path: `${path}/schema/type`, message: 'must be "object" (parameters are an object)' });
  try {
    return { issues, validate: compileActionSchema(schema) };
  } catch (error) {
    issues.push({ path: `${path}/schema`, message: `is not a valid JSON Schema 2020-12: ${(error as Error).message}` });
    return { issues };
  }
}

function exampleIssues(action: Json, path: string, validate: ValidateFunction | undefined): Issues {
  if (!validate) return [];
  const out: Issues = [];
  items(action.examples).forEach((example, j) => {
    if (!isObject(example) || !isObject(example.parameters)) return;
    if (!validate(example.parameters)) {
      out.push(...schemaIssues(validate.errors, `${path}/examples/${j}/parameters`));
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Executors

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ABSOLUTE_URL = /^https?:\/\/[^\s/]+/;

function valueSourceIssues(value: unknown, path: string, what: 'url' | 'text'): Issues {
  if (typeof value === 'string') {
    if (what === 'url' && !ABSOLUTE_URL.test(value)) return [{ path, message: 'must be an absolute http(s) URL' }];
    return value.length > 2048 ? [{ path, message: 'must be at most 2048 characters long' }] : [];
  }
  if (!isObject(value))
    return [{ path, message: 'must be a string or a value source {value | valueFrom, default?, prefix?}' }];
  const out: Issues = [];
  for (const key of Object.keys(value)) {
    if (!['value', 'valueFrom', 'default', 'prefix'].includes(key))
      out.push({ path: joinPointer(path, key), message: 'unknown field' });
  }
  for (const key of ['value', 'default', 'prefix']) {
    const v = value[key];
    if (v !== undefined && (typeof v !== 'string' || v.length > 2048))
      out.push({ path: `${path}/${key}`, message: 'must be a string' });
  }
  if ((value.value === undefined) === (value.valueFrom === undefined)) {
    out.push({ path, message: 'must set exactly one of value or valueFrom' });
  }
  if (value.valueFrom !== undefined) out.push(...valueFromIssues(value.valueFrom, `${path}/valueFrom`));
  return out;
}

function valueFromIssues(from: unknown, path: string): Issues {
  if (!isObject(from)) return [{ path, message: 'must be an object {env} or {secretKeyRef}' }];
  const out: Issues = [];
  for (const key of Object.keys(from)) {
    if (key !== 'env' && key !== 'secretKeyRef') out.push({ path: joinPointer(path, key), message: 'unknown field' });
  }
  if ((from.env === undefined) === (from.secretKeyRef === undefined))
    out.push({ path, message: 'must set exactly one of env or secretKeyRef' });
  if (from.env !== undefined && (typeof from.env !== 'string' || !ENV_NAME.test(from.env))) {
    out.push({ path: `${path}/env`, message: 'must be an environment variable name' });
  }
  if (from.secretKeyRef !== undefined) out.push(...secretKeyRefIssues(from.secretKeyRef, `${path}/secretKeyRef`));
  return out;
}

function secretKeyRefIssues(ref: unknown, path: string): Issues {
  if (!isObject(ref)) return [{ path, message: 'must be an object {name, key}' }];
  const out: Issues = [];
  if (!isDnsSubdomain(ref.name)) out.push({ path: `${path}/name`, message: 'must be a Secret name' });
  if (typeof ref.key !== 'string' || !/^[-._a-zA-Z0-9]{1,253}$/.test(ref.key)) {
    out.push({ path: `${path}/key`, message: 'must be a Secret key' });
  }
  for (const key of Object.keys(ref)) {
    if (key !== 'name' && key !== 'key') out.push({ path: joinPointer(path, key), message: 'unknown field' });
  }
  return out;
}

function isDnsSubdomain(value: unknown): boolean {
  return (
    typeof value === 'string' &&
    value.length <= 253 &&
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value)
  );
}

function headerIssues(headers: unknown, path: string): Issues {
  if (!isObject(headers)) return [];
  const out: Issues = [];
  for (const [name, value] of Object.entries(headers)) {
    const at = joinPointer(path, name);
    if (!HEADER_NAME.test(name)) out.push({ path: at, message: 'is not a valid HTTP header name' });
    out.push(...valueSourceIssues(value, at, 'text'));
  }
  return out;
}

function forbidden(executor: Json, keys: readonly string[], type: string, path: string): Issues {
  return keys
    .filter((k) => executor[k] !== undefined)
    .map((k) => ({ path: `${path}/${k}`, message: `is not used by ${type} executors` }));
}

function httpExecutorIssues(executor: Json, action: Json, path: string): Issues {
  const out: Issues = forbidden(executor, ['tool'], 'http', path);
  if (executor.method === undefined) out.push({ path: `${path}/method`, message: 'is required for http executors' });
  const url = executor.url;
  if (url === undefined) out.push({ path: `${path}/url`, message: 'is required for http executors' });
  else if (typeof url !== 'string' || url.length === 0 || url.length > 2048) {
    out.push({ path: `${path}/url`, message: 'must be a URL template string (absolute, or a path starting with /)' });
  } else {
    out.push(...urlTemplateIssues(url, executor, action, path));
  }
  if (executor.baseUrl !== undefined) out.push(...valueSourceIssues(executor.baseUrl, `${path}/baseUrl`, 'url'));
  const output = isObject(executor.response) ? executor.response.output : undefined;
  if (isObject(output)) {
    for (const [field, pointer] of Object.entries(output)) {
      if (typeof pointer === 'string' && !isValidPointer(pointer)) {
        out.push({
          path: joinPointer(`${path}/response/output`, field),
          message: 'must be a JSON Pointer into the response',
        });
      }
    }
  }
  return out;
}

function urlTemplateIssues(url: string, executor: Json, action: Json, path: string): Issues {
  const out: Issues = [];
  if (url.startsWith('/')) {
    if (executor.baseUrl === undefined)
      out.push({ path: `${path}/baseUrl`, message: 'is required when url is a path' });
  } else if (!ABSOLUTE_URL.test(url)) {
    out.push({ path: `${path}/url`, message: 'must be an absolute http(s) URL or a path starting with /' });
  }
  const schema = isObject(action.schema) ? action.schema : {};
  const properties = isObject(schema.properties) ? schema.properties : {};
  for (const name of urlPlaceholders(url)) {
    if (!Object.hasOwn(properties, name)) {
      out.push({ path: `${path}/url`, message: `placeholder {${name}} is not a property of the action schema` });
    }
  }
  return out;
}

function mcpExecutorIssues(executor: Json, path: string): Issues {
  const out: Issues = forbidden(executor, ['method', 'baseUrl', 'body', 'response'], 'mcp', path);
  if (executor.url === undefined) out.push({ path: `${path}/url`, message: 'is required for mcp executors' });
  else out.push(...valueSourceIssues(executor.url, `${path}/url`, 'url'));
  if (executor.tool === undefined) out.push({ path: `${path}/tool`, message: 'is required for mcp executors' });
  return out;
}

function executorIssues(action: Json, path: string): Issues {
  const executor = action.executor;
  if (!isObject(executor)) return [];
  const at = `${path}/executor`;
  const common = headerIssues(executor.headers, `${at}/headers`);
  if (executor.type === 'http') return [...common, ...httpExecutorIssues(executor, action, at)];
  if (executor.type === 'mcp') return [...common, ...mcpExecutorIssues(executor, at)];
  return common;
}

// ---------------------------------------------------------------------------------------------
// Ids, references, packs

function uniqueIdIssues(list: unknown, path: string, what: string): Issues {
  const out: Issues = [];
  const first = new Map<string, number>();
  items(list).forEach((item, i) => {
    if (!isObject(item) || typeof item.id !== 'string') return;
    const seen = first.get(item.id);
    if (seen === undefined) first.set(item.id, i);
    else
      out.push({
        path: `${path}/${i}/id`,
        message: `duplicate ${what} id ${JSON.stringify(item.id)} (also ${path}/${seen})`,
      });
  });
  return out;
}

function domainRefIssues(list: unknown, path: string, domains: ReadonlySet<string>): Issues {
  const out: Issues = [];
  items(list).forEach((item, i) => {
    if (isObject(item) && typeof item.domain === 'string' && !domains.has(item.domain)) {
      out.push({
        path: `${path}/${i}/domain`,
        message: `names no domain of this atlas (${JSON.stringify(item.domain)})`,
      });
    }
  });
  return out;
}

/** Relative, inside the atlas directory: no leading `/`, no `.`/`..`/empty segments, no `\`. */
export function isSafeRelativePath(path: string): boolean {
  return (
    path.length > 0 &&
    !path.startsWith('/') &&
    !path.includes('\\') &&
    !path.includes('\0') &&
    path.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
  );
}

function packSourceIssues(pack: Json, path: string, mode: PackMode): Issues {
  const has = (k: string): boolean => pack[k] !== undefined;
  if (mode === 'resource' && has('content') === has('configMapRef')) {
    return [{ path, message: 'must set exactly one of content or configMapRef' }];
  }
  if (mode === 'local') {
    if (has('content') && has('file')) return [{ path, message: 'must set at most one of content or file' }];
    if (typeof pack.file === 'string' && !isSafeRelativePath(pack.file)) {
      return [
        {
          path: `${path}/file`,
          message: "must be a relative path inside the atlas directory (no leading '/', no '..')",
        },
      ];
    }
  }
  return [];
}

// ---------------------------------------------------------------------------------------------
// Tool mappings, dependencies, licence

export const TOOL_NAME_PATTERNS: Record<Platform, RegExp> = {
  openai: /^[a-zA-Z0-9_-]{1,64}$/,
  anthropic: /^[a-zA-Z0-9_-]{1,64}$/,
  mcp: /^[a-zA-Z0-9_.-]{1,128}$/,
};

function toolMappingIssues(mappings: unknown, path: string, actionIds: ReadonlySet<string>): Issues {
  if (!isObject(mappings)) return [];
  const out: Issues = [];
  for (const platform of PLATFORMS) {
    const names = mappings[platform];
    if (!isObject(names)) continue;
    const usedBy = new Map<string, string>();
    for (const [actionId, tool] of Object.entries(names)) {
      const at = joinPointer(`${path}/${platform}`, actionId);
      if (!actionIds.has(actionId))
        out.push({ path: at, message: `names no action of this atlas (${JSON.stringify(actionId)})` });
      if (typeof tool !== 'string') continue;
      if (!TOOL_NAME_PATTERNS[platform].test(tool)) {
        out.push({
          path: at,
          message: `is not a valid ${platform} tool name (${TOOL_NAME_PATTERNS[platform].source})`,
        });
      }
      const other = usedBy.get(tool);
      if (other !== undefined)
        out.push({ path: at, message: `tool name ${JSON.stringify(tool)} is also used by ${JSON.stringify(other)}` });
      else usedBy.set(tool, actionId);
    }
  }
  return out;
}

function dependencyIssues(dependencies: unknown, path: string): Issues {
  const out: Issues = [];
  const seen = new Map<string, number>();
  items(dependencies).forEach((dep, i) => {
    if (!isObject(dep)) return;
    if (typeof dep.versionRange === 'string' && semver.validRange(dep.versionRange) === null) {
      out.push({
        path: `${path}/${i}/versionRange`,
        message: `is not a valid SemVer range (${JSON.stringify(dep.versionRange)})`,
      });
    }
    if (typeof dep.atlas === 'string') {
      const first = seen.get(dep.atlas);
      if (first === undefined) seen.set(dep.atlas, i);
      else out.push({ path: `${path}/${i}/atlas`, message: `duplicate dependency (also ${path}/${first})` });
    }
  });
  return out;
}

const AGENT_ID = /^[A-Za-z0-9]([A-Za-z0-9._:@-]*[A-Za-z0-9])?$/;

function licenseIssues(license: unknown, path: string): Issues {
  if (!isObject(license) || !isObject(license.terms)) return [];
  const terms = license.terms;
  const at = `${path}/terms`;
  if (terms.namespaces === undefined && terms.agents === undefined) {
    return [{ path: at, message: 'must list namespaces or agents (omit terms to allow everyone)' }];
  }
  const out: Issues = [];
  items(terms.namespaces).forEach((ns, i) => {
    if (!isDnsLabel(ns))
      out.push({ path: `${at}/namespaces/${i}`, message: 'must be a namespace name (DNS-1123 label)' });
  });
  items(terms.agents).forEach((agent, i) => {
    if (typeof agent !== 'string' || !AGENT_ID.test(agent))
      out.push({ path: `${at}/agents/${i}`, message: 'must be an agent id' });
  });
  return out;
}

function versionIssues(version: unknown, path: string): Issues {
  if (typeof version !== 'string') return [];
  const ok = /^[0-9]/.test(version) && version.trim() === version && semver.parse(version) !== null;
  return ok ? [] : [{ path, message: `must be a SemVer 2.0 version such as 1.2.3 (got ${JSON.stringify(version)})` }];
}

// ---------------------------------------------------------------------------------------------
// Entry points

function actionIssues(actions: unknown, path: string): Issues {
  const out: Issues = [];
  items(actions).forEach((action, i) => {
    if (!isObject(action)) return;
    const at = `${path}/${i}`;
    const { issues, validate } = actionSchemaIssues(action, at);
    out.push(...issues, ...exampleIssues(action, at, validate), ...executorIssues(action, at));
  });
  return out;
}

/** The semantic checks, defensive about shapes so they run whether or not the schema passed. */
export function atlasSemanticIssues(spec: unknown, basePath: string, mode: PackMode): FieldIssue[] {
  if (!isObject(spec)) return [];
  const domainIds = new Set(
    items(spec.domains).flatMap((d) => (isObject(d) && typeof d.id === 'string' ? [d.id] : [])),
  );
  const actionIds = new Set(
    items(spec.actions).flatMap((a) => (isObject(a) && typeof a.id === 'string' ? [a.id] : [])),
  );
  const out: Issues = [
    ...versionIssues(spec.version, `${basePath}/version`),
    ...licenseIssues(spec.license, `${basePath}/license`),
    ...uniqueIdIssues(spec.domains, `${basePath}/domains`, 'domain'),
    ...uniqueIdIssues(spec.contextPacks, `${basePath}/contextPacks`, 'pack'),
    ...uniqueIdIssues(spec.actions, `${basePath}/actions`, 'action'),
    ...domainRefIssues(spec.contextPacks, `${basePath}/contextPacks`, domainIds),
    ...domainRefIssues(spec.actions, `${basePath}/actions`, domainIds),
  ];
  items(spec.contextPacks).forEach((pack, i) => {
    if (isObject(pack)) out.push(...packSourceIssues(pack, `${basePath}/contextPacks/${i}`, mode));
  });
  out.push(
    ...actionIssues(spec.actions, `${basePath}/actions`),
    ...toolMappingIssues(spec.toolMappings, `${basePath}/toolMappings`, actionIds),
    ...dependencyIssues(spec.dependencies, `${basePath}/dependencies`),
    ...policyRuleSemanticIssues(spec.policies, `${basePath}/policies`),
  );
  return out;
}

const validateSpecSchema = lazyValidator(atlasSpecSchema);
const validateLocalSchema = lazyValidator(localAtlasManifestSchema);
const validateLoadedSchema = lazyValidator(loadedAtlasSchema);

/** Every problem with an Atlas resource `spec` (pass `basePath: '/spec'` for resource paths). */
export function validateAtlasSpec(spec: unknown, basePath = ''): FieldIssue[] {
  return [...validateSpecSchema(spec, basePath), ...atlasSemanticIssues(spec, basePath, 'resource')];
}

/** Every problem with a local `atlas.yaml` (already parsed). */
export function validateLocalManifest(manifest: unknown): FieldIssue[] {
  const labels = isObject(manifest) ? manifest.labels : undefined;
  return [
    ...validateLocalSchema(manifest),
    ...labelKeyIssues(labels, '/labels'),
    ...atlasSemanticIssues(manifest, '', 'local'),
  ];
}

/** Every problem with a LoadedAtlas (identity, ref consistency, inline packs, spec). */
export function validateLoadedAtlas(atlas: unknown, basePath = ''): FieldIssue[] {
  const out = validateLoadedSchema(atlas, basePath);
  if (!isObject(atlas)) return out;
  out.push(...labelKeyIssues(atlas.labels, `${basePath}/labels`));
  const spec = atlas.spec;
  if (
    typeof atlas.namespace === 'string' &&
    typeof atlas.name === 'string' &&
    isObject(spec) &&
    typeof spec.version === 'string'
  ) {
    const expected = atlasRef(atlas.namespace, atlas.name, spec.version);
    if (atlas.ref !== expected) out.push({ path: `${basePath}/ref`, message: `must be ${JSON.stringify(expected)}` });
  }
  out.push(...atlasSemanticIssues(spec, `${basePath}/spec`, 'loaded'));
  return out;
}

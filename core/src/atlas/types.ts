/**
 * The Atlas model (CRA-SPEC §1), shared by the local directory format (`atlas.yaml` +
 * `context/*.md`) and the Atlas custom resource's `spec`. Field names are the resource's
 * (camelCase); the JSON Schema in `schema.ts` is the contract.
 */
import type { ContentType, RiskTier } from '../carp/types.js';
import type { PolicyRule } from '../policy/types.js';

export const LICENSE_TYPES = ['free', 'paid', 'subscription', 'usage', 'enterprise'] as const;
export type LicenseType = (typeof LICENSE_TYPES)[number];

export interface License {
  type: LicenseType;
  spdx?: string;
  /** Enforceable terms: when set, only these namespaces/agents may use the atlas. */
  terms?: { namespaces?: string[]; agents?: string[] };
}

export interface Domain {
  id: string;
  name: string;
  description?: string;
  riskTier: RiskTier;
}

export interface ConfigMapKeyRef {
  name: string;
  key: string;
}

export interface ContextPack {
  id: string;
  domain: string;
  format?: ContentType;
  ttlSeconds?: number;
  tags?: string[];
  priority?: number;
  evidenceSources?: string[];
  /** Inline content. Exactly one of content, configMapRef (resource) or file (local format). */
  content?: string;
  configMapRef?: ConfigMapKeyRef;
  /** Local format only: path relative to the atlas directory (default `context/<id>.md`). */
  file?: string;
}

/** A header or URL value: a literal, or read from the runtime's environment or a Secret. */
export interface ValueSource {
  value?: string;
  valueFrom?: { env?: string; secretKeyRef?: { name: string; key: string } };
  /** Used when the source is unset. */
  default?: string;
  /** Prepended to the resolved value, e.g. `Bearer `. */
  prefix?: string;
}

export interface HttpExecutor {
  type: 'http';
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path or absolute URL with `{param}` placeholders (values are percent-encoded). */
  url: string;
  /** Prepended to a relative `url`. */
  baseUrl?: string | ValueSource;
  headers?: Record<string, string | ValueSource>;
  /** What goes in the body: parameters not used by the URL (default), all of them, or none. */
  body?: 'remaining' | 'parameters' | 'none';
  timeoutMs?: number;
  response?: {
    /** Output fields picked from the JSON response by JSON Pointer; absent = whole body. */
    output?: Record<string, string>;
    /** Statuses counted as success; default 200–299. */
    successStatus?: number[];
  };
}

export interface McpExecutor {
  type: 'mcp';
  /** Streamable HTTP endpoint of the upstream MCP server. */
  url: string | ValueSource;
  tool: string;
  headers?: Record<string, string | ValueSource>;
  timeoutMs?: number;
}

export type Executor = HttpExecutor | McpExecutor;

export interface ActionExampleSpec {
  description: string;
  parameters: Record<string, unknown>;
  expectedOutcome?: string;
}

export interface AtlasAction {
  id: string;
  type: string;
  name: string;
  description: string;
  domain: string;
  riskTier: RiskTier;
  /** JSON Schema 2020-12 of the parameters object. */
  schema: Record<string, unknown>;
  examples?: ActionExampleSpec[];
  executor?: Executor;
}

export const PLATFORMS = ['openai', 'anthropic', 'mcp'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** Stable tool names per platform, keyed by atlas action id. */
export type ToolMappings = Partial<Record<Platform, Record<string, string>>>;

export interface AtlasDependency {
  /** `<namespace>/<name>` or `<name>` (same namespace). */
  atlas: string;
  versionRange: string;
}

export interface AtlasSpec {
  version: string;
  description?: string;
  license?: License;
  keywords?: string[];
  domains: Domain[];
  contextPacks?: ContextPack[];
  actions?: AtlasAction[];
  policies?: PolicyRule[];
  toolMappings?: ToolMappings;
  dependencies?: AtlasDependency[];
}

/** `atlas.yaml` of the local directory format: the spec plus the resource's identity. */
export interface LocalAtlasManifest extends AtlasSpec {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
}

/** An atlas ready to serve: identity, labels and a spec whose packs carry inline content. */
export interface LoadedAtlas {
  /** `<namespace>/<name>@<version>` */
  ref: string;
  name: string;
  namespace: string;
  labels: Record<string, string>;
  spec: AtlasSpec;
}

export const DEFAULT_NAMESPACE = 'default';

export function atlasRef(namespace: string, name: string, version: string): string {
  return `${namespace}/${name}@${version}`;
}

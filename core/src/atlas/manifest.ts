/**
 * The local atlas format: a directory with `atlas.yaml` and `context/*.md` (CRA-SPEC §1).
 * Core takes contents, never paths: the caller reads `atlas.yaml`, asks `requiredFiles` which
 * context files to read (paths relative to the atlas directory), and passes their contents to
 * `loadLocalAtlas`.
 */
import { LineCounter, parseDocument } from 'yaml';
import { parsePointer } from '../policy/pointer.js';
import type { FieldIssue } from '../structural-schema.js';
import { validateLocalManifest } from './validate.js';
import {
  atlasRef,
  DEFAULT_NAMESPACE,
  type AtlasSpec,
  type ContextPack,
  type LoadedAtlas,
  type LocalAtlasManifest,
} from './types.js';

/** A manifest issue, with the 1-based line and column in the YAML text when known. */
export interface ManifestIssue extends FieldIssue {
  line?: number;
  column?: number;
}

export const MAX_YAML_ALIASES = 100;

/** Where a pack's content lives when it declares neither `content` nor `file`. */
export function defaultPackFile(packId: string): string {
  return `context/${packId}.md`;
}

type YamlDocument = ReturnType<typeof parseDocument>;

function locate(doc: YamlDocument, lines: LineCounter, pointer: string): { line: number; column: number } | undefined {
  const tokens = parsePointer(pointer) ?? [];
  // The member may not exist (a missing required field): fall back to its nearest ancestor.
  for (let n = tokens.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(tokens.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) {
      const { line, col } = lines.linePos(range[0]);
      return { line, column: col };
    }
  }
  return undefined;
}

/**
 * Parses and validates `atlas.yaml`. YAML syntax errors come back as
 * `<sourceName>:<line>:<col>: <message>` at path `''`; schema and semantic issues carry their
 * JSON Pointer plus the line and column of the offending node.
 */
export function parseAtlasManifest(
  yamlText: string,
  sourceName = 'atlas.yaml',
): { manifest: LocalAtlasManifest } | { errors: ManifestIssue[] } {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      errors: doc.errors.map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return { path: '', message: `${sourceName}:${line}:${col}: ${error.message}`, line, column: col };
      }),
    };
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    return { errors: [{ path: '', message: `${sourceName}: ${(error as Error).message}` }] };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { errors: [{ path: '', message: `${sourceName}: must be a YAML mapping (the atlas manifest)` }] };
  }
  const issues = validateLocalManifest(value);
  if (issues.length > 0) return { errors: issues.map((issue) => ({ ...issue, ...locate(doc, lines, issue.path) })) };
  return { manifest: value as LocalAtlasManifest };
}

/** Relative paths of the context files the caller must read (pack order, no duplicates). */
export function requiredFiles(manifest: LocalAtlasManifest): string[] {
  const out: string[] = [];
  for (const pack of manifest.contextPacks ?? []) {
    if (pack.content !== undefined) continue;
    const file = pack.file ?? defaultPackFile(pack.id);
    if (!out.includes(file)) out.push(file);
  }
  return out;
}

/**
 * The manifest as a LoadedAtlas: namespace defaulted, labels defaulted to `{}`, each pack's
 * content inlined from `files` (keyed by the paths `requiredFiles` returned) and `file`
 * removed. A missing file is an issue at the pack (`/contextPacks/<i>/file`, or
 * `/contextPacks/<i>` for the default `context/<id>.md`). The manifest should have passed
 * `parseAtlasManifest`/`validateLocalManifest`.
 */
export function loadLocalAtlas(
  manifest: LocalAtlasManifest,
  files: Readonly<Record<string, string>>,
): { atlas: LoadedAtlas } | { errors: FieldIssue[] } {
  const { name, namespace = DEFAULT_NAMESPACE, labels = {}, ...rest } = structuredClone(manifest);
  const errors: FieldIssue[] = [];
  const packs = (rest.contextPacks ?? []).map((pack, i): ContextPack => {
    if (pack.content !== undefined) return pack;
    const { file, ...inline } = pack;
    const path = file ?? defaultPackFile(pack.id);
    const content = Object.hasOwn(files, path) ? files[path] : undefined;
    if (content === undefined) {
      errors.push({
        path: file === undefined ? `/contextPacks/${i}` : `/contextPacks/${i}/file`,
        message: `context file ${path} of pack ${JSON.stringify(pack.id)} was not found`,
      });
      return inline;
    }
    return { ...inline, content };
  });
  if (errors.length > 0) return { errors };
  const spec: AtlasSpec = { ...rest, ...(rest.contextPacks === undefined ? {} : { contextPacks: packs }) };
  return { atlas: { ref: atlasRef(namespace, name, spec.version), name, namespace, labels, spec } };
}

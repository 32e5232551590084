/**
 * Reads the local sources of a bundle: atlas directories (`atlas.yaml` + `context/*.md`), Policy
 * and AgentIdentity resource files, and the API-key digests their Secrets hold (as files under
 * the secrets directory, the way Kubernetes mounts a Secret). Core does the parsing and
 * validation; this file only does the I/O.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import {
  compileBundle,
  loadLocalAtlas,
  parseAtlasManifest,
  requiredFiles,
  type AgentIdentitySpec,
  type CompiledIdentity,
  type CompiledPolicy,
  type LoadedAtlas,
  type PolicySpec,
  type RuntimeBundle,
} from '@cra/core';
import { parseAllDocuments } from 'yaml';

export interface SourceProblem {
  source: string;
  path: string;
  message: string;
  /** 1-based position in the source file, when known. */
  line?: number;
  column?: number;
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Each path is an atlas directory, or a folder whose subdirectories are atlas directories. */
export async function discoverAtlasDirs(
  paths: readonly string[],
): Promise<{ dirs: string[]; problems: SourceProblem[] }> {
  const dirs: string[] = [];
  const problems: SourceProblem[] = [];
  for (const path of paths) {
    const abs = resolve(path);
    if (!(await isDir(abs))) {
      problems.push({ source: path, path: '', message: 'is not a directory' });
      continue;
    }
    if (await exists(join(abs, 'atlas.yaml'))) {
      dirs.push(abs);
      continue;
    }
    const children = (await readdir(abs, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => join(abs, d.name));
    const found: string[] = [];
    for (const child of children.sort()) if (await exists(join(child, 'atlas.yaml'))) found.push(child);
    if (found.length === 0)
      problems.push({ source: path, path: '', message: 'holds no atlas.yaml, directly or one level down' });
    dirs.push(...found);
  }
  return { dirs, problems };
}

export async function readAtlasDir(dir: string): Promise<{ atlas?: LoadedAtlas; problems: SourceProblem[] }> {
  const source = relative(process.cwd(), join(dir, 'atlas.yaml')) || 'atlas.yaml';
  const text = await readFile(join(dir, 'atlas.yaml'), 'utf8');
  const parsed = parseAtlasManifest(text, source);
  if ('errors' in parsed) return { problems: parsed.errors.map((e) => ({ source, ...e })) };
  const files: Record<string, string> = {};
  const problems: SourceProblem[] = [];
  // The pack that needs a file, so a problem names it by JSON Pointer.
  const packOf = (rel: string): string => {
    const i = (parsed.manifest.contextPacks ?? []).findIndex((p) => (p.file ?? `context/${p.id}.md`) === rel);
    return i === -1 ? '' : `/contextPacks/${i}`;
  };
  for (const rel of requiredFiles(parsed.manifest)) {
    const abs = resolve(dir, rel);
    if (!abs.startsWith(resolve(dir))) {
      problems.push({ source, path: packOf(rel), message: `context file ${rel} is outside the atlas directory` });
      continue;
    }
    try {
      files[rel] = await readFile(abs, 'utf8');
    } catch (err) {
      problems.push({
        source,
        path: packOf(rel),
        message: `cannot read ${rel}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      });
    }
  }
  if (problems.length > 0) return { problems };
  const loaded = loadLocalAtlas(parsed.manifest, files);
  if ('errors' in loaded) return { problems: loaded.errors.map((e) => ({ source, ...e })) };
  return { atlas: loaded.atlas, problems: [] };
}

interface ResourceDoc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
}

async function readResources(file: string, kind: string): Promise<{ docs: ResourceDoc[]; problems: SourceProblem[] }> {
  const problems: SourceProblem[] = [];
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    return {
      docs: [],
      problems: [
        { source: file, path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` },
      ],
    };
  }
  const docs: ResourceDoc[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    if (doc.errors.length > 0) {
      problems.push({ source: file, path: `document ${i + 1}`, message: doc.errors[0]!.message });
      return;
    }
    const value = doc.toJSON() as ResourceDoc | null;
    if (value === null) return;
    if (value.kind !== kind) {
      problems.push({
        source: file,
        path: `document ${i + 1}/kind`,
        message: `expected kind ${kind}, found ${String(value.kind)}`,
      });
      return;
    }
    if (!value.metadata?.name) {
      problems.push({ source: file, path: `document ${i + 1}/metadata/name`, message: 'is required' });
      return;
    }
    docs.push(value);
  });
  return { docs, problems };
}

async function readSecretKey(secretsDir: string | undefined, name: string, key: string): Promise<string | undefined> {
  if (!secretsDir || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || !/^[-._a-zA-Z0-9]+$/.test(key)) return undefined;
  try {
    return (await readFile(join(secretsDir, name, key), 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export interface LocalSources {
  atlases: string[];
  policies?: string[];
  identities?: string[];
  secretsDir?: string;
}

export interface LocalBundleResult {
  bundle: RuntimeBundle;
  problems: SourceProblem[];
  /** Atlas directories that were read (for file watching). */
  atlasDirs: string[];
}

export async function buildLocalBundle(sources: LocalSources): Promise<LocalBundleResult> {
  const problems: SourceProblem[] = [];
  const { dirs, problems: discovery } = await discoverAtlasDirs(sources.atlases);
  problems.push(...discovery);
  const atlases: LoadedAtlas[] = [];
  for (const dir of dirs) {
    const result = await readAtlasDir(dir);
    problems.push(...result.problems);
    if (result.atlas) atlases.push(result.atlas);
  }
  const policies: CompiledPolicy[] = [];
  for (const file of sources.policies ?? []) {
    const { docs, problems: p } = await readResources(file, 'Policy');
    problems.push(...p);
    for (const doc of docs) {
      policies.push({
        name: doc.metadata!.name!,
        namespace: doc.metadata?.namespace ?? 'default',
        labels: doc.metadata?.labels ?? {},
        spec: (doc.spec ?? {}) as PolicySpec,
      });
    }
  }
  const identities: CompiledIdentity[] = [];
  for (const file of sources.identities ?? []) {
    const { docs, problems: p } = await readResources(file, 'AgentIdentity');
    problems.push(...p);
    for (const doc of docs) {
      const spec = (doc.spec ?? {}) as AgentIdentitySpec;
      const ref = spec.auth?.apiKeySecretRef;
      const digests: string[] = [];
      if (ref) {
        const digest = await readSecretKey(sources.secretsDir, ref.name, ref.key);
        if (digest === undefined) {
          problems.push({
            source: file,
            path: `${doc.metadata!.name}/spec/auth/apiKeySecretRef`,
            message: `secret ${ref.name}/${ref.key} not found under the secrets directory ${sources.secretsDir ?? '(none configured)'}`,
          });
        } else if (!/^[0-9a-f]{64}$/.test(digest)) {
          problems.push({
            source: file,
            path: `${doc.metadata!.name}/spec/auth/apiKeySecretRef`,
            message: `secret ${ref.name}/${ref.key} must hold the lowercase hex SHA-256 digest of the API key, not the key`,
          });
        } else {
          digests.push(digest);
        }
      }
      identities.push({
        name: doc.metadata!.name!,
        namespace: doc.metadata?.namespace ?? 'default',
        spec,
        apiKeyDigests: digests,
      });
    }
  }
  const { bundle, rejected } = compileBundle({ atlases, policies, identities });
  for (const r of rejected) {
    for (const e of r.errors)
      problems.push({ source: `${r.kind} ${r.namespace}/${r.name}`, path: e.path, message: e.message });
  }
  return { bundle, problems, atlasDirs: dirs };
}

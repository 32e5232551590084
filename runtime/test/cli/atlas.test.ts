/**
 * `cra atlas validate|create|publish` on real directories: the reference atlases, a broken copy,
 * a freshly scaffolded atlas, and the GitOps YAML published from one.
 */
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { repo } from '../helpers/runtime.js';
import { assertBuilt, cra, json, tempDir, removeTempDirs } from './helpers.js';

// Every test spawns the CLI (a Node process); a loaded machine makes that slow, never wrong.
vi.setConfig({ testTimeout: 90_000 });

beforeAll(assertBuilt);
afterAll(removeTempDirs);

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- YAML documents, read by the test
type Json = Record<string, any>;

interface Report {
  valid: boolean;
  atlases: { ref: string }[];
  problems: { file: string; line?: number; column?: number; pointer: string; message: string }[];
}

describe.concurrent('cra atlas validate', () => {
  it.each(['github-ops', 'cluster-ops', 'customer-support'])('accepts the reference atlas %s', async (name) => {
    const r = await cra(['atlas', 'validate', `atlases/${name}`, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const report = json<Report>(r);
    expect(report).toMatchObject({ valid: true, problems: [] });
    expect(report.atlases.map((a) => a.ref)).toEqual([`default/${name}@1.0.0`]);
  });

  it('prints a human checklist with the table format', async () => {
    const r = await cra(['atlas', 'validate', 'atlases', '-o', 'table']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('✓ default/github-ops@1.0.0');
    expect(r.stdout).toContain('valid: 3 atlas(es)');
  });

  it('rejects a broken copy, naming the file, line:column and JSON Pointer of each problem', async () => {
    const dir = join(await tempDir(), 'github-ops');
    await cp(repo('atlases/github-ops'), dir, { recursive: true });
    const manifest = await readFile(join(dir, 'atlas.yaml'), 'utf8');
    await writeFile(
      join(dir, 'atlas.yaml'),
      manifest.replace('    riskTier: low\n', '    riskTier: extreme\n').replace('version: 1.0.0', 'version: one'),
    );
    const r = await cra(['atlas', 'validate', dir, '-o', 'json']);
    expect(r.code).toBe(1);
    const report = json<Report>(r);
    expect(report.valid).toBe(false);
    const risk = report.problems.find((p) => p.pointer === '/domains/0/riskTier');
    expect(risk).toMatchObject({ file: expect.stringMatching(/github-ops\/atlas\.yaml$/), line: expect.any(Number) });
    expect(report.problems.some((p) => p.pointer === '/version')).toBe(true);

    const table = await cra(['atlas', 'validate', dir, '-o', 'table']);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/✗ .*github-ops\/atlas\.yaml:\d+:\d+ \/domains\/0\/riskTier: /);
    expect(table.stdout).toContain('invalid:');
  });

  it('reports a missing pack file by name', async () => {
    const dir = join(await tempDir(), 'github-ops');
    await cp(repo('atlases/github-ops'), dir, { recursive: true });
    await rm(join(dir, 'context', 'pr-guide.md'));
    const r = await cra(['atlas', 'validate', dir, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(json<Report>(r).problems).toEqual([
      expect.objectContaining({
        file: expect.stringMatching(/atlas\.yaml$/),
        message: expect.stringContaining('context/pr-guide.md'),
      }),
    ]);
  });

  it('says so when a directory holds no atlas', async () => {
    const r = await cra(['atlas', 'validate', await tempDir(), '-o', 'json']);
    expect(r.code).toBe(1);
    expect(json<Report>(r).problems[0]!.message).toContain('holds no atlas.yaml');
  });
});

describe.concurrent('cra atlas create', () => {
  it.each(['basic', 'api', 'ops'])('the %s template validates as generated', async (template) => {
    const parent = await tempDir();
    const created = await cra([
      'atlas',
      'create',
      'billing-svc',
      '--dir',
      parent,
      '--template',
      template,
      '-o',
      'json',
    ]);
    expect(created.code, created.stdout + created.stderr).toBe(0);
    expect(json(created)).toMatchObject({ valid: true, directory: join(parent, 'billing-svc') });

    const r = await cra(['atlas', 'validate', join(parent, 'billing-svc'), '-o', 'json']);
    expect(r.code, r.stdout).toBe(0);
    expect(json<Report>(r).atlases.map((a) => a.ref)).toEqual(['default/billing-svc@0.1.0']);

    const manifest = await readFile(join(parent, 'billing-svc', 'atlas.yaml'), 'utf8');
    expect(manifest).toContain('valueFrom: {env: BILLING_SVC_API_URL}');
    expect(manifest).toContain('effect: require_approval');
    expect(manifest).toContain('domain: billing.svc');
  });

  it('takes a domain and refuses to overwrite an existing directory unless --force', async () => {
    const parent = await tempDir();
    const args = ['atlas', 'create', 'ledger', '--dir', parent, '--domain', 'finance.ledger', '-o', 'json'];
    expect((await cra(args)).code).toBe(0);
    const again = await cra(args);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists.*--force/);
    expect((await cra([...args, '--force'])).code).toBe(0);
  });

  it('refuses a name that is not a DNS label (usage error)', async () => {
    const r = await cra(['atlas', 'create', 'Bad_Name', '--dir', await tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('must be a DNS label');
  });
});

describe.concurrent('cra atlas publish', () => {
  it('emits an Atlas resource with the pack content inlined', async () => {
    const r = await cra(['atlas', 'publish', 'atlases/github-ops']);
    expect(r.code, r.stderr).toBe(0);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJSON() as Json);
    expect(docs).toHaveLength(1);
    const atlas = docs[0]!;
    expect(atlas).toMatchObject({
      apiVersion: 'cra.dev/v1alpha1',
      kind: 'Atlas',
      metadata: { name: 'github-ops', namespace: 'default' },
    });
    const guide = await readFile(repo('atlases/github-ops/context/pr-guide.md'), 'utf8');
    expect(atlas.spec.contextPacks.find((p: { id: string }) => p.id === 'pr-guide').content).toBe(guide);
    expect(atlas.spec.contextPacks.every((p: { file?: string }) => p.file === undefined)).toBe(true);
  });

  it('moves packs over the threshold into ConfigMaps and writes --out in the given namespace', async () => {
    const out = join(await tempDir(), 'deploy', 'github-ops.yaml');
    const r = await cra([
      'atlas',
      'publish',
      'atlases/github-ops',
      '--namespace',
      'agents',
      '--configmap-threshold',
      '100',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`wrote 4 document(s) for agents/github-ops@1.0.0 to ${out}`);
    const docs = parseAllDocuments(await readFile(out, 'utf8')).map((d) => d.toJSON() as Json);
    expect(docs.map((d) => d.kind)).toEqual(['ConfigMap', 'ConfigMap', 'ConfigMap', 'Atlas']);
    const atlas = docs[3]!;
    expect(atlas.metadata.namespace).toBe('agents');
    for (const pack of atlas.spec.contextPacks) {
      expect(pack.content).toBeUndefined();
      const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === pack.configMapRef.name)!;
      expect(cm.metadata.namespace).toBe('agents');
      expect(cm.data[pack.configMapRef.key]).toBe(
        await readFile(repo(`atlases/github-ops/context/${pack.id}.md`), 'utf8'),
      );
    }
  });

  it('validates first: an invalid atlas publishes nothing', async () => {
    const dir = join(await tempDir(), 'github-ops');
    await cp(repo('atlases/github-ops'), dir, { recursive: true });
    const manifest = await readFile(join(dir, 'atlas.yaml'), 'utf8');
    await writeFile(join(dir, 'atlas.yaml'), manifest.replace('version: 1.0.0', 'version: one'));
    const r = await cra(['atlas', 'publish', dir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/is not a valid atlas[\s\S]*\/version/);
  });
});

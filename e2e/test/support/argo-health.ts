// The Argo CD health check of docs/guides/gitops.md, run with a real Lua interpreter on an object,
// as Argo CD runs it (the object as a Lua table in `obj`, the script's returned table).
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../harness/runtime-process.js';

const run = promisify(execFile);
export const GITOPS_GUIDE = join(REPO_ROOT, 'docs/guides/gitops.md');
export const HEALTH_KINDS = ['Atlas', 'Policy', 'AgentIdentity'] as const;

export function luaBinary(): string | undefined {
  return ['/usr/bin/lua5.4', '/usr/bin/lua5.3', '/usr/bin/lua', '/usr/local/bin/lua'].find((p) => existsSync(p));
}

/** The argocd-cm data of the guide's YAML blocks (anchors resolved, as kubectl would). */
export function argoHealthScripts(): Record<string, string> {
  const text = readFileSync(GITOPS_GUIDE, 'utf8');
  for (const block of text.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    for (const doc of parseAllDocuments(block[1]!)) {
      const o = doc.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> } | null;
      if (o?.kind === 'ConfigMap' && o.metadata?.name === 'argocd-cm' && o.data) return o.data;
    }
  }
  throw new Error(`${GITOPS_GUIDE} has no argocd-cm ConfigMap`);
}

function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string')
    return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  return `{${Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `[${toLua(k)}] = ${toLua(v)}`)
    .join(', ')}}`;
}

/** Argo CD's verdict on `obj` with the guide's health check for `kind`. */
export async function argoHealth(obj: unknown, kind: string = 'Atlas'): Promise<{ status: string; message: string }> {
  const lua = luaBinary();
  if (!lua) throw new Error('no Lua interpreter (apt-get install lua5.4; scripts/install-test-deps.sh does)');
  const script = argoHealthScripts()[`resource.customizations.health.cra.dev_${kind}`];
  if (!script) throw new Error(`no health check for cra.dev/${kind} in ${GITOPS_GUIDE}`);
  const program = [
    `obj = ${toLua(obj)}`,
    'local function check()',
    script,
    'end',
    'local hs = check()',
    'io.write(hs.status, "\\n", hs.message or "", "\\n")',
  ].join('\n');
  const dir = await mkdtemp(join(tmpdir(), 'cra-argo-health-'));
  try {
    await writeFile(join(dir, 'check.lua'), program); // objects can exceed one argument's size limit
    const { stdout } = await run(lua, [join(dir, 'check.lua')]);
    const [status = '', ...message] = stdout.split('\n');
    return { status, message: message.join('\n').trimEnd() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

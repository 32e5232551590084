// The container image without Docker (there is no Docker engine on the CI machines): the Dockerfile
// is read and its prod-deps and final stages are reproduced in a temporary directory — the same
// COPY sources (through .dockerignore), the same `npm ci --omit=dev` (offline from the npm cache
// when it can), the same ENV, ENTRYPOINT and user. Then both entry points run from that install:
// `cra serve` with the reference atlases answers /healthz, /readyz, /metrics and a resolve, and the
// operator exits with a configuration error, then runs against the test control plane and publishes
// the bundle. They run as uid 10001 (when the tests run as root) and write nothing inside the
// install: only the data directory and /tmp, as with readOnlyRootFilesystem.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, cp, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneBinariesAvailable, startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { freePort } from '../harness/ports.js';
import { spawnProcess, waitUntil, type ManagedProcess } from '../harness/process.js';
import { REPO_ROOT } from '../harness/runtime-process.js';

const run = promisify(execFile);
const requiredControlPlane = Boolean(process.env['CRA_REQUIRE_CONTROL_PLANE']);

// ---- the Dockerfile ------------------------------------------------------------------------------

interface Instruction {
  op: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

export function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      stages.push({ from: f[1]!, ...(f[2] ? { name: f[2] } : {}), instructions: [] });
    } else if (stages.length === 0 && op === 'ARG') {
      const [k, v] = rest.split('=') as [string, string | undefined];
      args[k] = v ?? '';
    } else {
      stages[stages.length - 1]?.instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

/** .dockerignore semantics for the patterns it uses: last match wins, `!` re-includes, a dir pattern covers its tree. */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split('/')
        .map((part) =>
          part === '**'
            ? '(?:.+)'
            : part
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/^\(\?:\.\+\)\//, '(?:.+/)?');
      return { negate, regex: new RegExp(`^${source}(?:/.*)?$`) };
    });
  return (path: string) => {
    let excluded = false;
    for (const r of rules) if (r.regex.test(path)) excluded = !r.negate;
    return excluded;
  };
}

const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const ignored = dockerignore(readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8'));
const stage = (name: string | undefined): Stage => {
  const s = name === undefined ? dockerfile.stages.at(-1) : dockerfile.stages.find((x) => x.name === name);
  if (!s) throw new Error(`Dockerfile has no stage ${name ?? '(final)'}`);
  return s;
};
const all = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
const json = (text: string) => JSON.parse(text) as string[];

function copies(s: Stage): { from?: string; sources: string[]; dest: string }[] {
  return all(s, 'COPY').map((i) => {
    const parts = i.args.split(/\s+/);
    const from = parts[0]!.startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
    const dest = parts.pop()!;
    return { ...(from ? { from } : {}), sources: parts, dest };
  });
}

function envOf(s: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of all(s, 'ENV')) for (const m of i.args.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
  return env;
}

describe('the Dockerfile', () => {
  it('is multi-stage: deps (npm ci), build (tsc -b), prod-deps (npm ci --omit=dev of core, runtime, operator), the image', () => {
    expect(dockerfile.stages.map((s) => s.name ?? '(final)')).toEqual(['deps', 'build', 'prod-deps', '(final)']);
    expect(all(stage('deps'), 'RUN').map((r) => r.args)).toEqual(['npm ci --no-audit --no-fund']);
    expect(all(stage('build'), 'RUN').map((r) => r.args)).toEqual(['npx tsc -b']);
    const prod = all(stage('prod-deps'), 'RUN')[0]!.args;
    expect(prod).toMatch(/^npm ci --omit=dev .*--workspace core --workspace runtime --workspace operator/);
    expect(all(stage(undefined), 'RUN').some((r) => /\bnpm\b/.test(r.args))).toBe(false);
  });

  it('bases every stage on Node 24 slim pinned by a full version tag', () => {
    const image = dockerfile.args['NODE_IMAGE']!;
    expect(image).toMatch(/^node:24\.\d+\.\d+-slim$/);
    for (const s of dockerfile.stages) expect(['${NODE_IMAGE}', 'deps']).toContain(s.from);
  });

  it('runs as uid 10001, with the data directory as a volume and the runtime as the entry point', () => {
    const final = stage(undefined);
    expect(all(final, 'USER').map((u) => u.args)).toEqual(['10001:10001']);
    expect(all(final, 'WORKDIR').map((w) => w.args)).toEqual(['/app']);
    expect(json(all(final, 'ENTRYPOINT')[0]!.args)).toEqual(['node', 'runtime/bin/cra.js']);
    expect(json(all(final, 'CMD')[0]!.args)).toEqual(['serve']);
    expect(envOf(final)).toMatchObject({ NODE_ENV: 'production', CRA_DATA_DIR: '/var/lib/cra' });
    expect(json(all(final, 'VOLUME')[0]!.args)).toEqual(['/var/lib/cra']);
    expect(all(final, 'HEALTHCHECK')).toEqual([]);
  });

  it('copies nothing that .dockerignore leaves out of the build context', () => {
    const fromContext = dockerfile.stages.flatMap((s) => copies(s).filter((c) => !c.from)).flatMap((c) => c.sources);
    expect(fromContext.filter((p) => ignored(p.replace(/\/$/, '')))).toEqual([]);
    // …and the context holds no build output, dependencies, tests or caches.
    for (const p of ['node_modules', 'runtime/dist', 'core/test', '.cache', 'e2e/test', 'atlases/github-ops/golden'])
      expect(ignored(p), p).toBe(true);
    for (const p of ['runtime/src/app.ts', 'e2e/package.json', 'atlases/github-ops/atlas.yaml'])
      expect(ignored(p), p).toBe(false);
  });
});

// ---- the prod stages, reproduced -----------------------------------------------------------------

async function copyFiltered(source: string, dest: string): Promise<void> {
  await cp(join(REPO_ROOT, source), dest, {
    recursive: true,
    filter: (src) => src === join(REPO_ROOT, source) || !ignored(relative(REPO_ROOT, src)),
  });
}

/** Relative path → size and mtime of every file under dir. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        const s = await stat(p);
        out.set(relative(dir, p), `${s.size}:${s.mtimeMs}`);
      }
    }
  };
  await walk(dir);
  return out;
}

const asRoot = process.getuid?.() === 0;

/** Whether a user who is neither owner nor group can run `file` (execute bit on it and every parent). */
async function reachableByOthers(file: string): Promise<boolean> {
  for (let p = file; ; p = dirname(p)) {
    if (((await stat(p)).mode & 0o001) === 0) return false;
    if (dirname(p) === p) return true;
  }
}
const IMAGE_USER = { uid: 10001, gid: 10001 };
const built = ['core', 'runtime', 'operator'].every((w) => existsSync(join(REPO_ROOT, w, 'dist')));

describe.skipIf(!built)('the image layout, reproduced without Docker', () => {
  let root: string;
  let app: string;
  let data: string;
  let before: Map<string, string>;
  const children: ManagedProcess[] = [];
  let cpPlane: ControlPlane | undefined;

  const imageEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    PATH: process.env['PATH'],
    ...envOf(stage(undefined)),
    CRA_DATA_DIR: data, // the data volume (/var/lib/cra in the image)
    ...extra,
  });
  /** The node binary the image user runs (the image has its own in /usr/local/bin). */
  let node = process.execPath;
  const start = (name: string, args: string[], env: NodeJS.ProcessEnv): ManagedProcess => {
    const child = spawnProcess({ name, command: node, args, cwd: app, env, ...(asRoot ? IMAGE_USER : {}) });
    children.push(child);
    return child;
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'cra-image-'));
    app = join(root, 'app');
    data = join(root, 'data');
    await mkdir(app, { recursive: true });
    await mkdir(data, { recursive: true });
    // prod-deps: the package manifests, then its own npm ci (offline from the cache when possible).
    for (const c of copies(stage('prod-deps'))) {
      for (const s of c.sources) {
        const dest = c.dest.endsWith('/')
          ? join(app, c.dest, s.split('/').pop()!)
          : join(app, c.dest === './' ? s : c.dest);
        await mkdir(dirname(dest), { recursive: true });
        await copyFiltered(s, dest);
      }
    }
    const install = all(stage('prod-deps'), 'RUN')[0]!.args.split('&&')[0]!.trim().split(/\s+/);
    expect(install[0]).toBe('npm');
    await run('npm', [...install.slice(1), '--prefer-offline'], { cwd: app, maxBuffer: 16 * 1024 * 1024 });
    // The image: build output from the build stage (here: the repository's dist), then the context copies.
    for (const c of copies(stage(undefined))) {
      if (c.from === 'prod-deps') continue; // already here
      for (const s of c.sources) {
        const source = c.from === 'build' ? s.replace(/^\/src\//, '') : s;
        const dest = c.dest.endsWith('/') ? join(app, c.dest, source.split('/').pop()!) : join(app, c.dest);
        await mkdir(dirname(dest), { recursive: true });
        // The build stage's output is not subject to .dockerignore; the context copies are.
        if (c.from === 'build') await cp(join(REPO_ROOT, source), dest, { recursive: true });
        else await copyFiltered(source, dest);
      }
    }
    // The identities and their key digests, mounted beside the image (like a ConfigMap and a Secret).
    await cp(join(REPO_ROOT, 'examples/local'), join(root, 'local'), { recursive: true });
    // Root-owned and not writable by the image user, like the image's /app.
    if (asRoot) {
      for (const d of [root, app]) await chmod(d, 0o755);
      await chown(data, IMAGE_USER.uid, IMAGE_USER.gid);
      // A checkout in a private directory (mktemp's 0700) hides this node from the image user.
      if (!(await reachableByOthers(process.execPath))) {
        node = join(root, 'node');
        await cp(process.execPath, node);
        await chmod(node, 0o755);
      }
    } else {
      await run('chmod', ['-R', 'a-w', app]);
    }
    before = await snapshot(app);
  }, 600_000);

  afterAll(async () => {
    for (const c of children) await c.stop({ timeoutMs: 10_000 });
    await cpPlane?.stop();
    if (root) {
      await run('chmod', ['-R', 'u+w', root]).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    }
  });

  it('has production dependencies only, the workspaces linked with their built dist', async () => {
    const modules = await readdir(join(app, 'node_modules'));
    for (const dev of ['typescript', 'vitest', 'pino-pretty', 'eslint', 'tsx', 'prettier'])
      expect(modules).not.toContain(dev);
    for (const dep of ['fastify', 'pino', '@kubernetes', 'prom-client']) expect(modules).toContain(dep);
    for (const [w, entry] of [
      ['core', 'index.js'],
      ['runtime', 'cli/main.js'],
      ['operator', 'main.js'],
    ] as const) {
      expect(existsSync(join(app, 'node_modules', '@cra', w, 'package.json')), w).toBe(true);
      expect(existsSync(join(app, w, 'dist', entry)), `${w}/dist/${entry}`).toBe(true);
    }
    expect(existsSync(join(app, 'e2e'))).toBe(false);
    expect(existsSync(join(app, 'atlases', 'github-ops', 'golden'))).toBe(false);
  });

  it('the runtime entry point serves the reference atlases: /healthz, /readyz, /metrics, a resolve, JSON logs', async () => {
    const port = await freePort();
    const entry = json(all(stage(undefined), 'ENTRYPOINT')[0]!.args);
    const runtime = start(
      'image-runtime',
      [
        ...entry.slice(1),
        'serve',
        '--atlases',
        'atlases',
        '--identities',
        join(root, 'local', 'identities.yaml'),
        '--secrets-dir',
        join(root, 'local', 'secrets'),
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
      ],
      imageEnv(),
    );
    const url = `http://127.0.0.1:${port}`;
    await waitUntil(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, {
      description: 'runtime ready',
      timeoutMs: 120_000,
      intervalMs: 250,
      process: runtime,
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const readyz = (await (await fetch(`${url}/readyz`)).json()) as { bundle: { atlases: number } };
    expect(readyz.bundle.atlases).toBe(3);
    expect(await (await fetch(`${url}/metrics`)).text()).toContain('cra_bundle_info{version=');
    // The CLI of the same install, as a client.
    const { stdout } = await run(
      process.execPath,
      [
        entry[1]!,
        'resolve',
        'Open an issue about the login crash',
        '--agent',
        'dev-agent',
        '--risk',
        'low',
        '-o',
        'json',
      ],
      { cwd: app, env: { PATH: process.env['PATH'], CRA_URL: url, CRA_API_KEY: 'dev-agent-key', HOME: '/tmp' } },
    );
    const resolution = JSON.parse(stdout) as { resolution_id: string; allowed_actions: unknown[] };
    expect(resolution.resolution_id).toBeTruthy();
    expect(resolution.allowed_actions.length).toBeGreaterThan(0);
    // pino-pretty is a devDependency: the runtime logs plain JSON lines.
    const line = runtime.logs().find((l) => l.includes('cra runtime listening'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!.slice(line!.indexOf('{')))).toMatchObject({ msg: 'cra runtime listening' });
    // The embedded store lives in the data directory.
    expect(existsSync(join(data, 'pg'))).toBe(true);
    await runtime.stop({ timeoutMs: 20_000 });
    expect(runtime.exited).toBe(true);
  }, 180_000);

  it('the operator entry point exits 1 naming a bad setting', async () => {
    const operator = start(
      'image-operator-config',
      ['operator/bin/cra-operator.js'],
      imageEnv({ CRA_LEADER_ELECTION: 'maybe' }),
    );
    const status = await operator.waitForExit();
    expect(status.code).toBe(1);
    expect(operator.logs().join('\n')).toMatch(
      /invalid operator configuration[\s\S]*CRA_LEADER_ELECTION: "maybe" is not true or false/,
    );
  }, 60_000);

  it.skipIf(!controlPlaneBinariesAvailable() && !requiredControlPlane)(
    'the operator entry point runs against the API server, publishes the bundle and stops on SIGTERM',
    async () => {
      cpPlane = await startControlPlane({ crdDirectories: [join(REPO_ROOT, 'crds')] });
      const core = cpPlane.kubeConfig.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: 'cra-system' } } });
      const kubeconfig = join(data, 'kubeconfig');
      await writeFile(kubeconfig, cpPlane.kubeConfig.exportConfig(), { mode: 0o600 });
      if (asRoot) await chown(kubeconfig, IMAGE_USER.uid, IMAGE_USER.gid);
      const port = await freePort();
      const operator = start(
        'image-operator',
        ['operator/bin/cra-operator.js'],
        imageEnv({
          KUBECONFIG: kubeconfig,
          POD_NAMESPACE: 'cra-system',
          POD_NAME: 'cra-operator-0',
          CRA_OPERATOR_PORT: String(port),
          CRA_LEASE_DURATION_MS: '3000',
          CRA_RENEW_DEADLINE_MS: '2000',
          CRA_RETRY_PERIOD_MS: '500',
        }),
      );
      await waitUntil(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200,
        {
          description: 'operator ready',
          timeoutMs: 60_000,
          intervalMs: 250,
          process: operator,
        },
      );
      const cm = await waitUntil(
        () =>
          core.readNamespacedConfigMap({ namespace: 'cra-system', name: 'cra-runtime-bundle' }).catch(() => undefined),
        { description: 'bundle ConfigMap', timeoutMs: 60_000, intervalMs: 250, process: operator },
      );
      expect(cm.metadata?.annotations?.['cra.dev/bundle-version']).toBeTruthy();
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(
        /cra_leader\{identity="cra-operator-0_/,
      );
      const status = await operator.stop({ signal: 'SIGTERM', timeoutMs: 30_000 });
      expect(status.code).toBe(0);
    },
    180_000,
  );

  it('wrote nothing inside the install (read-only root filesystem friendly)', async () => {
    const after = await snapshot(app);
    const changed = [...after].filter(([p, v]) => before.get(p) !== v).map(([p]) => p);
    const removed = [...before.keys()].filter((p) => !after.has(p));
    expect({ changed, removed }).toEqual({ changed: [], removed: [] });
    expect(before.size).toBeGreaterThan(1000); // the snapshot saw the install
  });
});

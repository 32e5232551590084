/**
 * `cra doctor`: is this machine ready to run CRA? A checklist, each failure with a one-line fix:
 * Node version, the configuration, every atlas directory, identities and their key digests,
 * policies, the data directory, the embedded store, and (with --server) a runtime's probes.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Command } from 'commander';
import { buildLocalBundle, discoverAtlasDirs, readAtlasDir, type SourceProblem } from '../bundle/local-sources.js';
import { readBundleFile } from '../bundle/bundle-file.js';
import { ConfigError, ENV_VARS, loadConfig } from '../config/load.js';
import type { RuntimeConfig } from '../config/schema.js';
import { formatProblem, toAtlasProblem } from './atlas.js';
import { CraClient } from './client.js';
import { systemReason } from './errors.js';
import { addOutputOption, type CommandRunner, examples, formatOf, type OutputOpts } from './options.js';
import { emit, MARK, style } from './output.js';

export const MIN_NODE = [22, 19, 0] as const;

export type CheckStatus = 'ok' | 'fail' | 'skip';

export interface Check {
  name: string;
  status: CheckStatus;
  message: string;
  fix?: string;
}

const ok = (name: string, message: string): Check => ({ name, status: 'ok', message });
const fail = (name: string, message: string, fix: string): Check => ({ name, status: 'fail', message, fix });
const skip = (name: string, message: string): Check => ({ name, status: 'skip', message });

export function nodeCheck(version = process.versions.node): Check {
  const parts = version.split('.').map(Number);
  const newer = MIN_NODE.findIndex((min, i) => (parts[i] ?? 0) !== min);
  const good = newer === -1 || (parts[newer] ?? 0) > MIN_NODE[newer]!;
  const min = MIN_NODE.join('.');
  return good
    ? ok('node', `Node.js ${version} (>= ${min})`)
    : fail('node', `Node.js ${version} is older than ${min}`, `install Node.js ${min} or newer (24 LTS recommended)`);
}

/** How to fix a configuration problem `path: message`. */
export function configFix(problem: string, file: string | undefined): string {
  if (problem.startsWith('config file'))
    return 'check that --config (or CRA_CONFIG) names a readable YAML file with a mapping at the top';
  const path = problem.slice(0, problem.indexOf(':'));
  const env = Object.entries(ENV_VARS).find(([, spec]) => spec.path === path)?.[0];
  if (path === 'atlases')
    return `list atlas directories under "atlases:" in ${file ?? 'a config file'}, or set CRA_ATLASES / pass --atlases`;
  const where = file ? `"${path}" in ${file}` : `"${path}"`;
  return `correct ${where}${env ? ` or the ${env} variable` : ''} (see docs/reference/config.md)`;
}

function describe(p: SourceProblem): string {
  return formatProblem({
    ...toAtlasProblem(p),
    file: p.source.startsWith('/') ? relative(process.cwd(), p.source) : p.source,
  });
}

async function atlasChecks(config: RuntimeConfig): Promise<Check[]> {
  if (config.bundleFile) {
    const { bundle, problems } = await readBundleFile(config.bundleFile);
    if (problems.length > 0) {
      return problems.map((p) =>
        fail('bundle', describe(p), 'rewrite the bundle file (the operator publishes it) or serve atlases instead'),
      );
    }
    return [ok('bundle', `${config.bundleFile}: version ${bundle.version}, ${bundle.atlases.length} atlas(es)`)];
  }
  const { dirs, problems } = await discoverAtlasDirs(config.atlases);
  const checks = problems.map((p) =>
    fail(
      'atlases',
      `${p.source} ${p.message}`,
      'point "atlases:" at atlas directories (with atlas.yaml) or folders of them',
    ),
  );
  for (const dir of dirs) {
    const shown = relative(process.cwd(), dir) || '.';
    try {
      const { atlas, problems: issues } = await readAtlasDir(dir);
      checks.push(
        atlas
          ? ok('atlas', `${atlas.ref} (${shown})`)
          : fail(
              'atlas',
              `${shown}: ${issues.length} problem(s); first: ${describe(issues[0]!)}`,
              `run "cra atlas validate ${shown}" to see every problem with its line and JSON Pointer`,
            ),
      );
    } catch (err) {
      checks.push(fail('atlas', `${shown}: cannot read (${systemReason(err)})`, 'check the directory permissions'));
    }
  }
  return checks;
}

function identityFix(p: SourceProblem): string {
  if (/digest/.test(p.message)) {
    return 'write the lowercase hex SHA-256 of the API key into the secret file: printf %s "$KEY" | sha256sum';
  }
  if (/not found under the secrets directory/.test(p.message)) {
    return 'set "secretsDir:" (or --secrets-dir) to the folder holding <secret name>/<key> files';
  }
  if (/cannot read/.test(p.message))
    return 'check the identities file path (paths in a config file are relative to it)';
  return `fix the AgentIdentity resource (${p.source})`;
}

/** Identities and policies: digests present and well formed, resources that compile. */
async function identityChecks(config: RuntimeConfig): Promise<Check[]> {
  if (config.bundleFile) return [];
  const checks: Check[] = [];
  const result = await buildLocalBundle({
    atlases: config.atlases,
    policies: config.policies,
    identities: config.identities,
    ...(config.secretsDir ? { secretsDir: config.secretsDir } : {}),
  });
  const identityProblems = result.problems.filter(
    (p) => config.identities.includes(p.source) || p.source.startsWith('AgentIdentity '),
  );
  const policyProblems = result.problems.filter(
    (p) => config.policies.includes(p.source) || p.source.startsWith('Policy '),
  );
  const compileProblems = result.problems.filter((p) => p.source.startsWith('Atlas '));
  for (const p of compileProblems) {
    checks.push(fail('atlas', describe(p), 'fix the atlas (or its dependencies) so it compiles into the bundle'));
  }
  if (config.identities.length === 0) {
    checks.push(
      config.auth.mode === 'required'
        ? fail(
            'identities',
            'no agent identities are configured: every /v1 request would be refused with 401',
            'add "identities:" (AgentIdentity files) and "secretsDir:" to the config (see examples/local), or use --insecure-no-auth on a laptop',
          )
        : skip('identities', 'authentication is off (auth.mode insecure-none)'),
    );
  } else if (identityProblems.length > 0) {
    for (const p of identityProblems) {
      checks.push(fail('identities', describe(p), identityFix(p)));
    }
  } else {
    const agents = result.bundle.identities.map((i) => i.spec.agentId);
    checks.push(ok('identities', `${agents.length} agent(s) with API-key digests: ${agents.join(', ')}`));
  }
  if (config.policies.length > 0) {
    if (policyProblems.length === 0) checks.push(ok('policies', `${result.bundle.policies.length} policy resource(s)`));
    for (const p of policyProblems)
      checks.push(fail('policies', describe(p), `fix the Policy resource in ${p.source}`));
  }
  return checks;
}

async function storeChecks(config: RuntimeConfig): Promise<Check[]> {
  if (config.store.kind !== 'embedded') {
    return [skip('data dir', `store is ${config.store.kind}; no data directory is used`)];
  }
  const dir = config.dataDir;
  const probe = join(dir, `.cra-doctor-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
  } catch (err) {
    return [
      fail(
        'data dir',
        `${dir} is not writable (${systemReason(err)})`,
        'set "dataDir:" (or --data-dir, CRA_DATA_DIR) to a writable directory',
      ),
      skip('embedded store', 'needs a writable data directory'),
    ];
  }
  const checks = [ok('data dir', `${dir} is writable`)];
  const pgDir = join(dir, 'pg');
  // PGlite marks an open data directory with postmaster.pid; opening it twice corrupts it.
  const inUse = await access(join(pgDir, 'postmaster.pid')).then(
    () => true,
    () => false,
  );
  if (inUse) {
    checks.push(
      skip('embedded store', `${pgDir} is open in another process (postmaster.pid); stop that runtime to check it`),
    );
    return checks;
  }
  try {
    const { openPglite } = await import('../store/embedded/pglite-client.js');
    const client = await openPglite(pgDir);
    await client.query('SELECT 1');
    await client.close();
    checks.push(ok('embedded store', `${pgDir} opens`));
  } catch (err) {
    checks.push(
      fail(
        'embedded store',
        `${pgDir} does not open (${(err as Error).message})`,
        'move the damaged directory aside (the runtime creates a new one) or restore it from a backup',
      ),
    );
  }
  return checks;
}

async function serverChecks(server: string): Promise<Check[]> {
  const client = new CraClient({ server });
  const checks: Check[] = [];
  for (const path of ['/healthz', '/readyz'] as const) {
    try {
      const { status, body } = await client.probe(path);
      const detail = typeof body === 'object' && body !== null ? JSON.stringify(body) : String(body);
      checks.push(
        status === 200
          ? ok(path, `${server}${path} answered 200`)
          : fail(
              path,
              `${server}${path} answered ${status}: ${detail.slice(0, 300)}`,
              'read the runtime log; /readyz lists the bundle and store states',
            ),
      );
    } catch (err) {
      checks.push(fail(path, (err as Error).message, `start the runtime (cra serve) or correct --server`));
    }
  }
  return checks;
}

export async function runDoctor(opts: { config?: string; server?: string }): Promise<Check[]> {
  const checks: Check[] = [nodeCheck()];
  const file = opts.config ?? process.env.CRA_CONFIG;
  let config: Readonly<RuntimeConfig> | undefined;
  try {
    config = await loadConfig({ ...(opts.config !== undefined ? { file: opts.config } : {}), env: process.env });
    checks.push(ok('config', file ? `${file} loads` : 'loads from the environment (no config file)'));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const problem of err.problems) checks.push(fail('config', problem, configFix(problem, file)));
  }
  if (config) {
    checks.push(...(await atlasChecks(config)), ...(await identityChecks(config)), ...(await storeChecks(config)));
  } else {
    checks.push(skip('atlases, identities, store', 'need a configuration that loads'));
  }
  if (opts.server !== undefined) checks.push(...(await serverChecks(opts.server)));
  return checks;
}

function checklist(checks: Check[]): string {
  const lines = checks.map((c) => {
    const mark =
      c.status === 'ok' ? style.ok(MARK.ok) : c.status === 'fail' ? style.bad(MARK.fail) : style.dim(MARK.skip);
    const line = `${mark} ${c.name}: ${c.message}${c.status === 'skip' ? style.dim(' (skipped)') : ''}`;
    return c.fix ? `${line}\n    ${style.dim('fix:')} ${c.fix}` : line;
  });
  const failures = checks.filter((c) => c.status === 'fail').length;
  lines.push(failures === 0 ? style.ok('\nall checks passed') : style.bad(`\n${failures} check(s) failed`));
  return lines.join('\n');
}

export function registerDoctor(program: Command, run: CommandRunner): void {
  addOutputOption(
    program
      .command('doctor')
      .description('check that this machine can run CRA: Node, config, atlases, identities, data dir, store')
      .option('--config <file>', 'configuration file to check (env: CRA_CONFIG)')
      .option('--server <url>', 'also probe a running runtime (/healthz, /readyz)')
      .addHelpText(
        'after',
        examples(
          'cra doctor --config examples/local/cra.yaml',
          'cra doctor --config cra.yaml --server http://127.0.0.1:8080',
        ) + '\n\nEach failed check prints a one-line fix. Exit status: 0 when every check passes, 1 otherwise.',
      ),
  ).action((opts: OutputOpts & { config?: string; server?: string }) =>
    run(async () => {
      const checks = await runDoctor(opts);
      const failures = checks.filter((c) => c.status === 'fail').length;
      emit(formatOf(opts), { ok: failures === 0, checks }, (r) => checklist(r.checks));
      return failures === 0 ? 0 : 1;
    }),
  );
}

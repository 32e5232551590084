/**
 * `cra serve`: the runtime in this process. Flags become overrides of the configuration (file
 * < CRA_* environment < flags); a bad configuration prints every problem and exits 1. The
 * process then runs until SIGINT/SIGTERM, when it drains and closes (server.ts).
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import type { RuntimeConfig } from '../config/schema.js';
import { CliError, systemReason } from './errors.js';
import { type CommandRunner, examples, parseInteger } from './options.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

interface ServeOpts {
  config?: string;
  atlases?: string[];
  policies?: string[];
  identities?: string[];
  secretsDir?: string;
  bundleFile?: string;
  port?: number;
  host?: string;
  dataDir?: string;
  store?: 'embedded' | 'memory';
  insecureNoAuth?: boolean;
  watch: boolean;
  logLevel?: string;
}

const abs = (paths: string[] | undefined): string[] | undefined => paths?.map((p) => resolve(p));

/** Flags → dotted overrides for loadConfig; a flag not given overrides nothing. */
export function serveOverrides(opts: ServeOpts): Record<string, unknown> {
  return {
    atlases: abs(opts.atlases),
    policies: abs(opts.policies),
    identities: abs(opts.identities),
    secretsDir: opts.secretsDir && resolve(opts.secretsDir),
    bundleFile: opts.bundleFile && resolve(opts.bundleFile),
    dataDir: opts.dataDir && resolve(opts.dataDir),
    'server.port': opts.port,
    'server.host': opts.host,
    'store.kind': opts.store,
    'auth.mode': opts.insecureNoAuth ? 'insecure-none' : undefined,
    watch: opts.watch === false ? false : undefined,
    'log.level': opts.logLevel,
  };
}

/** Loads the configuration; a ConfigError becomes a CliError listing every problem. */
export async function configFor(file: string | undefined, overrides: Record<string, unknown> = {}) {
  try {
    return await loadConfig({ ...(file !== undefined ? { file } : {}), env: process.env, overrides });
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new CliError(`the configuration has ${err.problems.length} problem(s)`, 1, err.problems);
    }
    throw err;
  }
}

export function registerServe(program: Command, run: CommandRunner): void {
  program
    .command('serve')
    .description('run the CRA runtime: HTTP API on the given atlases, embedded stores, no services needed')
    .option('--config <file>', 'YAML/JSON configuration file (env: CRA_CONFIG); flags override it')
    .option('--atlases <dir...>', 'atlas directories, or folders of atlas directories')
    .option('--policies <file...>', 'Policy resource files')
    .option('--identities <file...>', 'AgentIdentity resource files')
    .option('--secrets-dir <dir>', 'secrets as files: <dir>/<secret name>/<key>')
    .option('--bundle-file <file>', 'serve the runtime bundle the operator wrote instead of atlases')
    .option('--port <n>', 'port to listen on (0 = any free port)', parseInteger(0, 65535))
    .option('--host <addr>', 'address to listen on (e.g. 127.0.0.1, 0.0.0.0)')
    .option('--data-dir <dir>', 'where the embedded store keeps its data')
    .addOption(
      new Option('--store <kind>', 'store: embedded (on disk, in --data-dir) or memory').choices([
        'embedded',
        'memory',
      ]),
    )
    .option('--insecure-no-auth', 'no authentication: any caller may act as any agent (never beyond a laptop)')
    .option('--no-watch', 'do not reload atlases and identities when their files change')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS))
    .addHelpText(
      'after',
      examples(
        'cra serve --config examples/local/cra.yaml',
        'cra serve --atlases atlases --identities examples/local/identities.yaml --secrets-dir examples/local/secrets',
        'cra serve --atlases atlases --store memory --insecure-no-auth --port 9090 --host 127.0.0.1',
      ) +
        '\n\nEvery flag has a CRA_* variable and a config file key; see docs/reference/config.md.' +
        '\nStops on SIGINT/SIGTERM after finishing in-flight requests.',
    )
    .action((opts: ServeOpts) =>
      run(async () => {
        const config = await configFor(opts.config, serveOverrides(opts));
        await serve(config);
        return 0;
      }),
    );
}

/** Runs the runtime until a signal (server.ts owns the process concerns). */
async function serve(config: Readonly<RuntimeConfig>): Promise<void> {
  // Loaded here, not at the top: the other commands start faster without the runtime's modules.
  const { startServer, ListenError } = await import('../server.js');
  let server;
  try {
    server = await startServer(config);
  } catch (err) {
    if (err instanceof ListenError) throw new CliError(`${err.message} (${systemReason(err.cause)})`);
    throw new CliError(`the runtime did not start: ${(err as Error).message}`);
  }
  await server.closed;
}

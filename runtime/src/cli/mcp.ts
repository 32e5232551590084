/**
 * `cra mcp`: MCP over stdio for desktop agents and IDEs. Runs the runtime in this process (the
 * configuration of `cra serve`: file < CRA_* environment < flags), acting as one agent: the
 * identity named by `--agent` / CRA_AGENT_ID, which must exist among the identities (with the
 * agent role) unless `--insecure-no-auth`. No HTTP port is opened. stdout carries the protocol
 * only; logs go to stderr. Exits 0 when the client closes stdin or on SIGINT/SIGTERM.
 */
import { Option, type Command } from 'commander';
import type { Principal } from '@cra/core';
import { CliError, systemReason } from './errors.js';
import { type CommandRunner, examples } from './options.js';
import { configFor, LOG_LEVELS, serveOverrides } from './serve.js';

interface McpOpts {
  config?: string;
  atlases?: string[];
  policies?: string[];
  identities?: string[];
  secretsDir?: string;
  bundleFile?: string;
  dataDir?: string;
  store?: 'embedded' | 'memory';
  agent?: string;
  insecureNoAuth?: boolean;
  watch: boolean;
  logLevel?: string;
}

export function registerMcp(program: Command, run: CommandRunner): void {
  program
    .command('mcp')
    .description('serve MCP over stdio as one agent, with the runtime in this process (no HTTP port)')
    .option('--config <file>', 'YAML/JSON configuration file (env: CRA_CONFIG); flags override it')
    .option('--atlases <dir...>', 'atlas directories, or folders of atlas directories')
    .option('--policies <file...>', 'Policy resource files')
    .option('--identities <file...>', 'AgentIdentity resource files')
    .option('--secrets-dir <dir>', 'secrets as files: <dir>/<secret name>/<key>')
    .option('--bundle-file <file>', 'serve the runtime bundle the operator wrote instead of atlases')
    .option('--data-dir <dir>', 'where the embedded store keeps its data (one process per directory)')
    .addOption(
      new Option('--store <kind>', 'store: embedded (on disk, in --data-dir) or memory').choices([
        'embedded',
        'memory',
      ]),
    )
    .addOption(new Option('--agent <id>', 'the agent this MCP session acts as (an AgentIdentity)').env('CRA_AGENT_ID'))
    .option('--insecure-no-auth', 'act as --agent without an identity, with every role (never beyond a laptop)')
    .option('--no-watch', 'do not reload atlases and identities when their files change')
    .addOption(new Option('--log-level <level>', 'log level (logs go to stderr)').choices(LOG_LEVELS))
    .addHelpText(
      'after',
      examples(
        'cra mcp --config examples/local/cra.yaml --agent dev-agent --store memory',
        'cra mcp --atlases atlases --identities examples/local/identities.yaml --secrets-dir examples/local/secrets --agent dev-agent',
      ) +
        '\n\nIn an MCP client configuration: command "cra", args ["mcp", "--config", "<path>/cra.yaml", "--agent", "<id>"].' +
        '\nThe embedded store allows one process per data directory: give a runtime that is also serving HTTP ' +
        'another --data-dir, or use --store memory.',
    )
    .action((opts: McpOpts) =>
      run(async () => {
        const agent = opts.agent?.trim();
        if (!agent) throw new CliError('name the agent to act as: --agent <id> or CRA_AGENT_ID', 2);
        const config = await configFor(opts.config, serveOverrides(opts));
        await serveMcp(config, agent);
        return 0;
      }),
    );
}

async function serveMcp(config: Awaited<ReturnType<typeof configFor>>, agentId: string): Promise<void> {
  // Loaded here: the other commands start faster without the runtime's modules.
  const { createRuntime } = await import('../runtime.js');
  const { unauthenticatedPrincipal } = await import('../auth/identities.js');
  const { serveStdio } = await import('../mcp/stdio.js');
  const { LOG_REDACT } = await import('../server.js');
  let runtime;
  try {
    runtime = await createRuntime(config, {
      logger: { level: config.log.level, redact: { paths: LOG_REDACT, censor: '[REDACTED]' }, stream: process.stderr },
    });
  } catch (err) {
    throw new CliError(`the runtime did not start: ${systemReason(err)}`);
  }
  let principal: Principal | undefined = runtime.identities.byAgentId(agentId);
  if (!principal && config.auth.mode === 'insecure-none') principal = unauthenticatedPrincipal(agentId);
  if (!principal || !principal.roles.includes('agent')) {
    await runtime.close();
    throw new CliError(
      principal
        ? `agent ${agentId} does not have the agent role`
        : `agent ${agentId} has no identity (give --identities with an AgentIdentity for it, or --insecure-no-auth)`,
    );
  }
  const log = runtime.app.log;
  if (config.auth.mode === 'insecure-none') log.warn('authentication is OFF: acting as %s with every role', agentId);
  const server = await serveStdio({ cra: runtime.cra, principal, log });
  log.info({ agent_id: agentId, session_id: server.sessionId }, 'cra mcp serving on stdio');
  const stop = (signal: NodeJS.Signals) => {
    log.info({ signal }, 'shutting down');
    void server.close('shutdown');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await server.closed;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await runtime.close();
  }
}

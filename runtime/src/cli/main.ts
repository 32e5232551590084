/**
 * The `cra` command: builds the commander program and turns every outcome into an exit code.
 * 0 ok; 1 failure (validation errors, refused requests, broken chains, breaking diffs);
 * 2 usage errors (commander's own, and bad option values found later).
 * Expected failures print a message, never a stack trace (set CRA_DEBUG=1 for unexpected ones).
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { registerApprovals } from './approvals.js';
import { registerAtlas } from './atlas.js';
import { registerCarp } from './carp.js';
import { registerDoctor } from './doctor.js';
import { CliError, EXIT } from './errors.js';
import { registerMcp } from './mcp.js';
import type { CommandRunner } from './options.js';
import { writeErr } from './output.js';
import { registerServe } from './serve.js';
import { registerTrace } from './trace.js';

const SUMMARY = [
  'CRA: the governance layer between AI agents and the systems they act on.',
  '',
  'Remote commands (resolve, execute, validate, approvals, trace export and verify of a session) talk to a ' +
    'runtime at --server / CRA_URL (default http://127.0.0.1:8080) with --api-key / CRA_API_KEY.',
].join('\n');

const FOOTER = `
Exit status: 0 ok, 1 failure (invalid input, refused request, broken chain, breaking diff), 2 usage error.
Run "cra <command> --help" for the options and examples of each command.`;

export function buildProgram(run: CommandRunner): Command {
  const program = new Command('cra')
    .description(SUMMARY)
    .version(VERSION, '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => process.stdout.write(text),
      writeErr: (text) => process.stderr.write(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', FOOTER);
  registerServe(program, run);
  registerMcp(program, run);
  registerCarp(program, run);
  registerAtlas(program, run);
  registerTrace(program, run);
  registerApprovals(program, run);
  registerDoctor(program, run);
  return program;
}

export function reportError(err: unknown): number {
  if (err instanceof CliError) {
    writeErr(`error: ${err.message}`);
    for (const line of err.details) writeErr(`  ${line}`);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  writeErr(`error: ${message}`);
  if (process.env.CRA_DEBUG && err instanceof Error && err.stack) writeErr(err.stack);
  return EXIT.failure;
}

/** `argv` as in `process.argv` (node, script, arguments…). Resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  // `cra trace export … | head`: a reader that stops early is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
    throw err;
  });
  let code: number = EXIT.ok;
  const run: CommandRunner = async (body) => {
    try {
      code = await body();
    } catch (err) {
      code = reportError(err);
    }
  };
  const program = buildProgram(run);
  try {
    await program.parseAsync(argv, { from: 'node' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message or the help text; help and --version exit 0
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return reportError(err);
  }
  return code;
}

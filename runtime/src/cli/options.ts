/**
 * Options shared by several commands: the output format, where the runtime is and with which
 * key, which agent is acting, and parsers that turn bad values into usage errors (exit 2).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CraClient, DEFAULT_SERVER } from './client.js';
import { OUTPUT_FORMATS, outputFormat, type OutputFormat } from './output.js';

/** Runs a command body and records its exit code (main.ts owns the code). */
export type CommandRunner = (body: () => Promise<number>) => Promise<void>;

export interface OutputOpts {
  output?: string;
}

export interface RemoteOpts {
  server: string;
  apiKey?: string;
}

export function addOutputOption(command: Command): Command {
  return command.addOption(
    new Option('-o, --output <format>', 'output format (default: table on a terminal, json otherwise)').choices(
      OUTPUT_FORMATS,
    ),
  );
}

export function formatOf(opts: OutputOpts): OutputFormat {
  return outputFormat(opts.output);
}

export function addRemoteOptions(command: Command): Command {
  return command
    .addOption(new Option('--server <url>', 'runtime base URL').env('CRA_URL').default(DEFAULT_SERVER))
    .addOption(
      new Option('--api-key <key>', 'API key (prefer the variable: flags show in process lists)').env('CRA_API_KEY'),
    );
}

export function clientOf(opts: RemoteOpts): CraClient {
  return new CraClient({ server: opts.server, ...(opts.apiKey !== undefined ? { apiKey: opts.apiKey } : {}) });
}

export function agentOption(): Option {
  return new Option('--agent <id>', "agent id of the requester (must be the API key's agent)")
    .env('CRA_AGENT_ID')
    .makeOptionMandatory();
}

export function parseInteger(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('must be a whole number.');
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`must be between ${min} and ${max}.`);
    return n;
  };
}

/** `a,b c` → ['a', 'b', 'c'], accumulating over repeated flags. */
export function commaList(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0) throw new InvalidArgumentError('must name at least one value.');
  return [...(previous ?? []), ...items];
}

/** Help text lines under `Examples:`. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}

/**
 * Every command answers --help with its usage and examples (exit 0); a wrong command line is a
 * usage error (exit 2) with a message and no stack trace.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { assertBuilt, cra, freePort } from './helpers.js';

// Every test spawns the CLI (a Node process); a loaded machine makes that slow, never wrong.
vi.setConfig({ testTimeout: 90_000 });

beforeAll(assertBuilt);

const COMMANDS = [
  [],
  ['serve'],
  ['mcp'],
  ['resolve'],
  ['execute'],
  ['validate'],
  ['atlas'],
  ['atlas', 'validate'],
  ['atlas', 'create'],
  ['atlas', 'publish'],
  ['trace'],
  ['trace', 'verify'],
  ['trace', 'export'],
  ['trace', 'diff'],
  ['trace', 'replay'],
  ['trace', 'visualize'],
  ['approvals'],
  ['approvals', 'list'],
  ['approvals', 'approve'],
  ['approvals', 'deny'],
  ['doctor'],
];

describe.concurrent('--help', () => {
  it.each(COMMANDS.map((c) => [c.join(' ') || '(cra)', c] as const))(
    '%s --help exits 0 with usage and examples',
    async (_name, command) => {
      const r = await cra([...command, '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Usage: cra${command.length ? ` ${command.join(' ')}` : ''}`);
      expect(r.stdout).toMatch(/Examples:|Commands:/);
      expect(r.stderr).toBe('');
    },
  );

  it('-h is help and nothing else (serve takes --host, never -h)', async () => {
    const r = await cra(['serve', '-h']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('--host <addr>');
    expect(r.stdout).not.toMatch(/-h, --host/);
  });

  it('the help command works like --help', async () => {
    const r = await cra(['trace', 'help', 'diff']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: cra trace diff');
  });

  it('--version prints the version', async () => {
    const r = await cra(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe.concurrent('usage errors exit 2', () => {
  it.each([
    ['an unknown command', ['bogus'], /unknown command 'bogus'/],
    ['an unknown option', ['atlas', 'validate', 'atlases', '--bogus'], /unknown option '--bogus'/],
    ['a missing argument', ['trace', 'diff', 'only-one.jsonl'], /missing required argument 'actual'/],
    [
      'a bad choice',
      ['resolve', 'goal', '--agent', 'a', '--risk', 'extreme'],
      /--risk <tier>.*extreme.*Allowed choices/s,
    ],
    ['a bad number', ['serve', '--port', 'eighty'], /--port <n>.*whole number/s],
    ['a missing mandatory option', ['resolve', 'goal'], /required option '--agent <id>' not specified/],
    ['a group without its subcommand', ['atlas'], /Usage: cra atlas/],
    ['bad JSON parameters', ['execute', '0190', 'x', '--agent', 'a', '--params', '{nope'], /--params: not valid JSON/],
    [
      'parameters that are not an object',
      ['validate', '0190', 'x', '--agent', 'a', '--params', '[1]'],
      /must be a JSON object/,
    ],
    ['a server that is not a URL', ['approvals', 'list', '--server', 'nowhere'], /--server: "nowhere" is not a URL/],
  ])('%s', async (_what, args, message) => {
    const r = await cra(args);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

describe('expected failures exit 1 without a stack trace', () => {
  it('an unreachable runtime says where it looked', async () => {
    const port = await freePort();
    const r = await cra(['approvals', 'list', '--server', `http://127.0.0.1:${port}`, '--api-key', 'k']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach the CRA runtime at http://127.0.0.1:${port} (ECONNREFUSED)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

/**
 * docs/reference/config.md against the code: every key of configSchema has a row with the
 * schema's default, the CRA_* variable of ENV_VARS and the `cra serve` flag that set it; the doc
 * names no variable, flag or key that does not exist; its YAML examples load. Then loadConfig's
 * behaviour as the doc describes it: precedence file < environment < flags, paths relative to
 * the file, and every bad value reported with its dotted path.
 */
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { registerServe, serveOverrides } from '../src/cli/serve.js';
import { ConfigError, ENV_VARS, loadConfig } from '../src/config/load.js';
import { configSchema } from '../src/config/schema.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/reference/config.md', import.meta.url)), 'utf8');

// ---------------------------------------------------------------------------------------------
// What the code defines

interface SchemaNode {
  type?: string | readonly string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  default?: unknown;
}

/** Leaf keys as dotted paths (`auth.jwt.issuers[].issuer` inside arrays of objects) → default. */
function leaves(node: SchemaNode, prefix = ''): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const path = prefix ? `${prefix}.${name}` : name;
    if (child.properties) {
      for (const [p, d] of leaves(child, path)) out.set(p, d);
    } else {
      out.set(path, child.default);
      if (child.items?.properties) for (const [p, d] of leaves(child.items, `${path}[]`)) out.set(p, d);
    }
  }
  return out;
}

/** Object keys (sections), e.g. `server`, `auth.jwt`, `trace.checkpoint`. */
function sections(node: SchemaNode, prefix = ''): string[] {
  return Object.entries(node.properties ?? {}).flatMap(([name, child]) => {
    const path = prefix ? `${prefix}.${name}` : name;
    return child.properties ? [path, ...sections(child, path)] : [];
  });
}

const KEYS = leaves(configSchema as unknown as SchemaNode);
const SECTIONS = sections(configSchema as unknown as SchemaNode);
const ENV_FOR = new Map(Object.entries(ENV_VARS).map(([name, spec]) => [spec.path, name]));
/** Variables loadConfig reads that are not keys: the file itself. */
const OTHER_ENV = ['CRA_CONFIG'];

/** `cra serve` options, and the config path each one sets (via serveOverrides). */
function serveFlags(): { all: string[]; byPath: Map<string, string> } {
  const program = new Command();
  registerServe(program, async () => undefined);
  const serve = program.commands.find((c) => c.name() === 'serve')!;
  const byPath = new Map<string, string>();
  const all: string[] = [];
  for (const option of serve.options) {
    const flag = option.long!;
    all.push(flag);
    const value = option.negate ? false : option.variadic ? ['x'] : option.required || option.optional ? 'x' : true;
    const opts = { watch: true, [option.attributeName()]: value } as Parameters<typeof serveOverrides>[0];
    const set = Object.entries(serveOverrides(opts)).filter(([, v]) => v !== undefined);
    for (const [path] of set) byPath.set(path, flag);
  }
  return { all, byPath };
}
const FLAGS = serveFlags();

// ---------------------------------------------------------------------------------------------
// What the doc says

interface Row {
  key: string;
  type: string;
  default: string;
  env: string;
  flag: string;
}

const rows: Row[] = doc
  .split('\n')
  .filter((line) => /^\|\s*`[a-z][A-Za-z0-9.[\]]*`\s*\|/.test(line))
  .map((line) =>
    line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((c) => c.trim()),
  )
  .filter((cells) => cells.length === 6)
  .map(([key, type, def, env, flag]) => ({
    key: key!.replace(/`/g, ''),
    type: type!,
    default: def!.replace(/`/g, ''),
    env: env!.replace(/`/g, ''),
    flag: flag!.replace(/`/g, ''),
  }));
const rowKeys = rows.map((r) => r.key);

function parseDefault(cell: string): unknown {
  if (cell === '—') return undefined;
  try {
    return JSON.parse(cell);
  } catch {
    return cell;
  }
}

describe('docs/reference/config.md', () => {
  it('has one row for every configuration key', () => {
    expect([...KEYS.keys()].filter((key) => !rowKeys.includes(key))).toEqual([]);
    expect(rowKeys.filter((key, i) => rowKeys.indexOf(key) !== i)).toEqual([]);
  });

  it('has rows only for keys that exist', () => {
    expect(rowKeys.filter((key) => !KEYS.has(key))).toEqual([]);
  });

  it('names every section of the schema', () => {
    expect(SECTIONS.filter((section) => !rowKeys.some((key) => key.startsWith(`${section}.`)))).toEqual([]);
  });

  it('states the schema default of every key', () => {
    for (const row of rows) {
      expect({ key: row.key, default: parseDefault(row.default) }).toEqual({
        key: row.key,
        default: KEYS.get(row.key),
      });
    }
  });

  it('states the environment variable of every key', () => {
    for (const row of rows) {
      expect({ key: row.key, env: row.env }).toEqual({ key: row.key, env: ENV_FOR.get(row.key) ?? '—' });
    }
  });

  it('documents every CRA_* variable and mentions none that does not exist', () => {
    const known = [...Object.keys(ENV_VARS), ...OTHER_ENV];
    const mentioned = new Set([...doc.matchAll(/\bCRA_[A-Z0-9_]+\b/g)].map((m) => m[0]));
    expect(known.filter((name) => !mentioned.has(name))).toEqual([]);
    expect([...mentioned].filter((name) => !known.includes(name))).toEqual([]);
  });

  it('states the cra serve flag of every key', () => {
    for (const row of rows) {
      expect({ key: row.key, flag: row.flag }).toEqual({ key: row.key, flag: FLAGS.byPath.get(row.key) ?? '—' });
    }
  });

  it('mentions every cra serve flag and no other', () => {
    const mentioned = new Set([...doc.matchAll(/`(--[a-z][a-z-]*)/g)].map((m) => m[1]!));
    expect(FLAGS.all.filter((flag) => !mentioned.has(flag))).toEqual([]);
    expect([...mentioned].filter((flag) => !FLAGS.all.includes(flag))).toEqual([]);
  });

  it('gives YAML examples that are valid configurations', async () => {
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks.length).toBeGreaterThan(0);
    const dir = await mkdtemp(join(tmpdir(), 'cra-config-doc-'));
    for (const [i, text] of blocks.entries()) {
      expect(parseYaml(text)).toBeTypeOf('object');
      const file = join(dir, `example-${i}.yaml`);
      await writeFile(file, text);
      await expect(
        loadConfig({ file, env: { CRA_POSTGRES_URL: 'postgres://cra@127.0.0.1:5432/cra' } }),
      ).resolves.toBeTypeOf('object');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// loadConfig behaves as documented

async function problemsOf(input: Parameters<typeof loadConfig>[0]): Promise<string[]> {
  try {
    await loadConfig(input);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

async function configFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cra-config-'));
  const file = join(dir, 'cra.yaml');
  await writeFile(file, text);
  return file;
}

describe('loadConfig', () => {
  it('fills every default', async () => {
    const config = await loadConfig({ env: {}, overrides: { atlases: ['/a'] } });
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 8080, bodyLimitBytes: 1_048_576 });
    expect(config.resolver.riskTier).toBe('low');
    expect(config.rateLimit).toEqual({ requests: 100, windowSeconds: 60 });
    expect(config.store).toMatchObject({ kind: 'embedded', durability: 'sync', onUnavailable: 'spool' });
    expect(config.dataDir).toBe('.cra-data');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('takes file < environment < flags, key by key', async () => {
    const file = await configFile(
      'server:\n  host: 127.0.0.1\n  port: 7000\natlases: [atlases]\nlog:\n  level: warn\nresolver:\n  maxActions: 5\n',
    );
    const config = await loadConfig({
      file,
      env: { CRA_PORT: '7001', CRA_LOG_LEVEL: 'debug' },
      overrides: { 'server.port': 7002 },
    });
    expect(config.server.port).toBe(7002); // flag over environment over file
    expect(config.log.level).toBe('debug'); // environment over file
    expect(config.server.host).toBe('127.0.0.1'); // file over default
    expect(config.resolver.maxActions).toBe(5);
    expect(config.resolver.ttlSeconds).toBe(300); // a sibling keeps its default
  });

  it('reads the file named by CRA_CONFIG, and --config wins over it', async () => {
    const a = await configFile('atlases: [x]\nserver:\n  port: 7100\n');
    const b = await configFile('atlases: [x]\nserver:\n  port: 7200\n');
    expect((await loadConfig({ env: { CRA_CONFIG: a } })).server.port).toBe(7100);
    expect((await loadConfig({ file: b, env: { CRA_CONFIG: a } })).server.port).toBe(7200);
  });

  it('resolves paths in the file relative to the file, not the working directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cra-config-'));
    await mkdir(join(dir, 'conf'));
    const file = join(dir, 'conf', 'cra.yaml');
    await writeFile(file, 'atlases: [../atlases]\nidentities: [ids.yaml]\nsecretsDir: secrets\ndataDir: /abs/data\n');
    const config = await loadConfig({ file, env: {} });
    expect(config.atlases).toEqual([join(dir, 'atlases')]);
    expect(config.identities).toEqual([join(dir, 'conf', 'ids.yaml')]);
    expect(config.secretsDir).toBe(join(dir, 'conf', 'secrets'));
    expect(config.dataDir).toBe('/abs/data');
  });

  it('converts environment lists, booleans and integers', async () => {
    const config = await loadConfig({
      env: { CRA_ATLASES: 'a, b,,c', CRA_WATCH: 'false', CRA_RATE_LIMIT_REQUESTS: '250', CRA_STORE: 'memory' },
    });
    expect(config.atlases).toEqual(['a', 'b', 'c']);
    expect(config.watch).toBe(false);
    expect(config.rateLimit.requests).toBe(250);
    expect(config.store.kind).toBe('memory');
  });

  it('treats an empty variable as unset', async () => {
    const config = await loadConfig({ env: { CRA_ATLASES: 'a', CRA_PORT: '' } });
    expect(config.server.port).toBe(8080);
  });

  it('names the variable whose value is not an integer or a boolean', async () => {
    const problems = await problemsOf({ env: { CRA_ATLASES: 'a', CRA_PORT: 'abc', CRA_WATCH: 'maybe' } });
    expect(problems).toEqual(['CRA_PORT: "abc" is not an integer', 'CRA_WATCH: "maybe" is not true or false']);
  });

  it('reports a value out of range with its dotted path', async () => {
    const file = await configFile('atlases: [a]\nserver:\n  port: 70000\n');
    expect(await problemsOf({ file, env: {} })).toEqual(['server.port: must be <= 65535']);
  });

  it('reports an unknown key with its dotted path', async () => {
    const file = await configFile('atlases: [a]\nserver:\n  colour: blue\nfrobnicate: true\n');
    const problems = await problemsOf({ file, env: {} });
    expect(problems).toContain('server.colour: is not a known field');
    expect(problems).toContain('frobnicate: is not a known field');
  });

  it('reports a bad enum value from a variable with the variable, its dotted path and the allowed values', async () => {
    const problems = await problemsOf({ env: { CRA_ATLASES: 'a', CRA_DEFAULT_RISK_TIER: 'extreme' } });
    expect(problems).toEqual([
      'CRA_DEFAULT_RISK_TIER (resolver.riskTier): must be one of "low", "medium", "high", "critical"',
    ]);
  });

  it('refuses postgres without a URL, naming the variable', async () => {
    const problems = await problemsOf({ env: { CRA_ATLASES: 'a', CRA_STORE: 'postgres' } });
    expect(problems).toEqual(['store.postgresUrl: is required when store.kind is "postgres" (CRA_POSTGRES_URL)']);
    await expect(
      loadConfig({ env: { CRA_ATLASES: 'a', CRA_STORE: 'postgres', CRA_POSTGRES_URL: 'postgres://h/db' } }),
    ).resolves.toMatchObject({ store: { kind: 'postgres', postgresUrl: 'postgres://h/db' } });
  });

  it('needs atlases or a bundle file', async () => {
    expect(await problemsOf({ env: {} })).toEqual([
      'atlases: give at least one atlas directory (--atlases, CRA_ATLASES), a bundleFile (CRA_BUNDLE_FILE) or a bundleConfigMap (CRA_BUNDLE_CONFIGMAP)',
    ]);
    await expect(loadConfig({ env: { CRA_BUNDLE_FILE: '/b.json' } })).resolves.toMatchObject({
      bundleFile: '/b.json',
    });
  });

  it('reports every problem at once', async () => {
    const file = await configFile('server:\n  port: -1\n  colour: blue\nstore:\n  kind: postgres\n');
    const problems = await problemsOf({ file, env: { CRA_WATCH: 'perhaps' } });
    expect(problems).toEqual(
      expect.arrayContaining([
        'CRA_WATCH: "perhaps" is not true or false',
        'server.colour: is not a known field',
        'server.port: must be >= 0',
        'store.postgresUrl: is required when store.kind is "postgres" (CRA_POSTGRES_URL)',
        'atlases: give at least one atlas directory (--atlases, CRA_ATLASES), a bundleFile (CRA_BUNDLE_FILE) or a bundleConfigMap (CRA_BUNDLE_CONFIGMAP)',
      ]),
    );
  });

  it('reports a file that cannot be read or is not a mapping', async () => {
    expect(await problemsOf({ file: '/nonexistent/cra.yaml', env: {} })).toEqual([
      'config file /nonexistent/cra.yaml: ENOENT',
    ]);
    const list = await configFile('- a\n- b\n');
    expect(await problemsOf({ file: list, env: {} })).toEqual([`config file ${list}: top level must be a mapping`]);
  });
});

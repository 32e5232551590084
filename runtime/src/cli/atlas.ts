/**
 * `cra atlas validate|create|publish`: local atlas work, no runtime needed. Validation is the
 * runtime's own (buildLocalBundle → core's parser, validators and bundle compiler), so the CLI,
 * `cra serve` and the operator agree on what is valid.
 */
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { atlasRef, atlasToResource, DEFAULT_CONFIGMAP_THRESHOLD_BYTES, isCraError, type LoadedAtlas } from '@cra/core';
import { Option, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { buildLocalBundle, readAtlasDir, type SourceProblem } from '../bundle/local-sources.js';
import { atlasFiles, TEMPLATES, type Template } from './atlas-template.js';
import { CliError, systemReason, UsageError } from './errors.js';
import { addOutputOption, type CommandRunner, examples, formatOf, type OutputOpts, parseInteger } from './options.js';
import { emit, MARK, style, write, writeErr } from './output.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DOMAIN_ID = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

/** A problem as printed and as JSON: the file, line:column when known, the JSON Pointer. */
export interface AtlasProblem {
  file: string;
  line?: number;
  column?: number;
  pointer: string;
  message: string;
}

export function toAtlasProblem(p: SourceProblem): AtlasProblem {
  return {
    file: p.source,
    ...(p.line !== undefined ? { line: p.line } : {}),
    ...(p.column !== undefined ? { column: p.column } : {}),
    pointer: p.path,
    message: p.message,
  };
}

export function formatProblem(p: AtlasProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  // YAML syntax errors already carry "file:line:col:" in their message.
  if (p.message.startsWith(`${p.file}:`)) return p.message;
  return `${where}${p.pointer ? ` ${p.pointer}` : ''}: ${p.message}`;
}

export interface AtlasSummary {
  ref: string;
  domains: number;
  packs: number;
  actions: number;
  policies: number;
}

const summarize = (a: LoadedAtlas): AtlasSummary => ({
  ref: a.ref,
  domains: a.spec.domains.length,
  packs: a.spec.contextPacks?.length ?? 0,
  actions: a.spec.actions?.length ?? 0,
  policies: a.spec.policies?.length ?? 0,
});

export interface ValidationReport {
  valid: boolean;
  atlases: AtlasSummary[];
  problems: AtlasProblem[];
}

/** Validates atlas directories (or folders of them) together, as `cra serve` would load them. */
export async function validateAtlases(paths: readonly string[]): Promise<ValidationReport> {
  let result;
  try {
    result = await buildLocalBundle({ atlases: paths.map((p) => resolve(p)) });
  } catch (err) {
    throw new CliError(`cannot read the atlases: ${systemReason(err)}`);
  }
  const problems = result.problems.map(toAtlasProblem).map((p) => ({
    ...p,
    // discovery reports the absolute path we passed; show it as the user wrote it
    file: p.file.startsWith('/') ? relative(process.cwd(), p.file) || '.' : p.file,
  }));
  return { valid: problems.length === 0, atlases: result.bundle.atlases.map(summarize), problems };
}

function reportTable(r: ValidationReport): string {
  const lines = r.atlases.map(
    (a) =>
      `${style.ok(MARK.ok)} ${a.ref}  ${style.dim(`${a.domains} domains, ${a.packs} packs, ${a.actions} actions, ${a.policies} policies`)}`,
  );
  for (const p of r.problems) lines.push(`${style.bad(MARK.fail)} ${formatProblem(p)}`);
  lines.push(
    r.valid ? style.ok(`valid: ${r.atlases.length} atlas(es)`) : style.bad(`invalid: ${r.problems.length} problem(s)`),
  );
  return lines.join('\n');
}

// --- publish ---------------------------------------------------------------------------------

interface PublishOpts {
  namespace?: string;
  out?: string;
  configmapThreshold?: number;
}

export async function loadAtlasDir(dir: string): Promise<LoadedAtlas> {
  const abs = resolve(dir);
  try {
    await stat(join(abs, 'atlas.yaml'));
  } catch (err) {
    throw new CliError(`${dir}: no atlas.yaml here (${systemReason(err)}); give an atlas directory`);
  }
  const { atlas, problems } = await readAtlasDir(abs);
  if (!atlas) {
    throw new CliError(
      `${dir} is not a valid atlas (${problems.length} problem(s))`,
      1,
      problems.map((p) => formatProblem(toAtlasProblem(p))),
    );
  }
  return atlas;
}

/** The multi-document YAML: ConfigMaps of large packs first, then the Atlas that references them. */
export function publishYaml(
  atlas: LoadedAtlas,
  dir: string,
  thresholdBytes: number,
): { yaml: string; documents: number } {
  let converted;
  try {
    converted = atlasToResource(atlas, { configMapThresholdBytes: thresholdBytes });
  } catch (err) {
    if (isCraError(err)) {
      const violations = (
        (err.details as { violations?: { path: string; message: string }[] } | undefined)?.violations ?? []
      ).map((v) => `${v.path}: ${v.message}`);
      throw new CliError(err.message, 1, violations);
    }
    throw err;
  }
  const docs = [...converted.configMaps, converted.atlas];
  const header = `# ${atlas.ref}, generated by "cra atlas publish ${dir}". Apply with kubectl apply -f, or commit for GitOps.\n`;
  return { yaml: header + docs.map((d) => toYaml(d, { lineWidth: 0 })).join('---\n'), documents: docs.length };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

// --- create ----------------------------------------------------------------------------------

interface CreateOpts extends OutputOpts {
  dir: string;
  domain?: string;
  template: Template;
  description?: string;
  force?: boolean;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export async function createAtlas(name: string, opts: CreateOpts): Promise<{ directory: string; files: string[] }> {
  if (!DNS_LABEL.test(name)) {
    throw new UsageError(`atlas name "${name}" must be a DNS label: lowercase letters, digits and '-', at most 63`);
  }
  const domain = opts.domain ?? name.replace(/-/g, '.');
  if (!DOMAIN_ID.test(domain)) {
    throw new UsageError(
      `--domain "${domain}" must be lowercase letters, digits, '.', '_' and '-' (e.g. billing.invoices)`,
    );
  }
  const directory = join(opts.dir, name);
  if ((await exists(directory)) && opts.force !== true) {
    throw new CliError(
      `${directory} already exists; choose another name or --dir, or pass --force to overwrite its files`,
    );
  }
  const files = atlasFiles({
    name,
    domain,
    template: opts.template,
    ...(opts.description !== undefined ? { description: opts.description } : {}),
  });
  for (const [rel, content] of Object.entries(files)) {
    const path = join(directory, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  }
  return { directory, files: Object.keys(files).map((f) => join(directory, f)) };
}

// --- registration ----------------------------------------------------------------------------

export function registerAtlas(program: Command, run: CommandRunner): void {
  const atlas = program
    .command('atlas')
    .description('validate, scaffold and publish atlases (local directory format)')
    .addHelpText('after', examples('cra atlas validate atlases/github-ops', 'cra atlas create billing --template api'));

  addOutputOption(
    atlas
      .command('validate')
      .description('validate atlas directories (or folders of them) exactly as the runtime loads them')
      .argument('<dir...>', 'atlas directories, or folders holding atlas directories')
      .addHelpText(
        'after',
        examples(
          'cra atlas validate atlases/github-ops',
          'cra atlas validate atlases',
          'cra atlas validate my-atlas -o json',
        ) +
          '\n\nEach problem names its file, line:column when known, and the JSON Pointer of the field.' +
          '\nExit status: 0 when every atlas is valid, 1 otherwise.',
      ),
  ).action((dirs: string[], opts: OutputOpts) =>
    run(async () => {
      const report = await validateAtlases(dirs);
      emit(formatOf(opts), report, reportTable);
      return report.valid ? 0 : 1;
    }),
  );

  addOutputOption(
    atlas
      .command('create')
      .description('scaffold a new atlas directory that passes "cra atlas validate" as generated')
      .argument('<name>', 'atlas name (a DNS label, e.g. billing)')
      .option('--dir <parent>', 'directory to create it in', '.')
      .option('--domain <id>', 'domain id (default: the name with "-" as ".")')
      .addOption(
        new Option('--template <kind>', 'basic (one action), api (get/create/delete), ops (list/create/update/delete)')
          .choices(TEMPLATES)
          .default('basic'),
      )
      .option('--description <text>', 'one-line description')
      .option('--force', 'write into an existing directory, overwriting the generated files')
      .addHelpText(
        'after',
        examples(
          'cra atlas create billing',
          'cra atlas create billing --template api --domain billing.invoices --dir atlases',
        ),
      ),
  ).action((name: string, opts: CreateOpts) =>
    run(async () => {
      const created = await createAtlas(name, opts);
      const report = await validateAtlases([created.directory]);
      emit(formatOf(opts), { ...created, valid: report.valid, problems: report.problems }, (c) =>
        [
          `${style.ok(MARK.ok)} created ${c.directory}`,
          ...c.files.map((f) => `  ${f}`),
          c.valid
            ? style.dim(`next: edit ${join(c.directory, 'atlas.yaml')}, then cra atlas validate ${c.directory}`)
            : '',
          ...c.problems.map((p) => `${style.bad(MARK.fail)} ${formatProblem(p)}`),
        ]
          .filter(Boolean)
          .join('\n'),
      );
      return report.valid ? 0 : 1;
    }),
  );

  atlas
    .command('publish')
    .description('convert an atlas directory to Atlas resource YAML for GitOps (ConfigMaps for large packs)')
    .argument('<dir>', 'atlas directory')
    .option('--namespace <ns>', 'namespace of the resources (default: the atlas namespace, else default)')
    .option('--out <file>', 'write to this file instead of standard output')
    .option(
      '--configmap-threshold <bytes>',
      `packs larger than this move to their own ConfigMap (default ${DEFAULT_CONFIGMAP_THRESHOLD_BYTES})`,
      parseInteger(0, 1_000_000),
    )
    .addHelpText(
      'after',
      examples(
        'cra atlas publish atlases/github-ops > github-ops.yaml',
        'cra atlas publish atlases/github-ops --namespace agents --out deploy/github-ops.yaml',
        'cra atlas publish atlases/github-ops | kubectl apply -f -',
      ) + '\n\nThe atlas is validated first; nothing is written when it is invalid (exit 1).',
    )
    .action((dir: string, opts: PublishOpts) =>
      run(async () => {
        if (opts.namespace !== undefined && !DNS_LABEL.test(opts.namespace)) {
          throw new UsageError(`--namespace "${opts.namespace}" must be a DNS label`);
        }
        const loaded = await loadAtlasDir(dir);
        const atlasForNs =
          opts.namespace === undefined
            ? loaded
            : { ...loaded, namespace: opts.namespace, ref: atlasRef(opts.namespace, loaded.name, loaded.spec.version) };
        const { yaml, documents } = publishYaml(
          atlasForNs,
          dir,
          opts.configmapThreshold ?? DEFAULT_CONFIGMAP_THRESHOLD_BYTES,
        );
        if (opts.out === undefined) {
          write(yaml);
        } else {
          await writeAtomically(opts.out, yaml);
          writeErr(`wrote ${documents} document(s) for ${atlasForNs.ref} to ${opts.out}`);
        }
        return 0;
      }),
    );
}

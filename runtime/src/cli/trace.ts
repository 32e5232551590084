/**
 * `cra trace verify|export|diff|replay|visualize`: TRACE files (JSONL, one event per line) and
 * sessions on a runtime. `diff` and `replay` exit 1 on a `breaking` difference, so CI can gate on
 * them; `visualize` serves the trace viewer for a file until interrupted.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  diffTraces,
  isCraError,
  parseGolden,
  parseJsonl,
  RISK_TIERS,
  verifyChain,
  type DiffableEvent,
  type RiskTier,
  type TraceDiff,
  type TraceEvent,
} from '@cra/core';
import { Option, type Command } from 'commander';
import { CliError, systemReason } from './errors.js';
import {
  addOutputOption,
  addRemoteOptions,
  clientOf,
  type CommandRunner,
  examples,
  formatOf,
  parseInteger,
  type OutputOpts,
  type RemoteOpts,
} from './options.js';
import { emit, fields, MARK, progress, section, style, table, write, writeErr } from './output.js';
import { replayTrace, type ReplayReport } from './replay.js';
import { EXPORT_FORMATS, TraceExportTransform, type ExportFormat } from './trace-formats.js';
import { parseTraceText, TraceFile } from './trace-file.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`${file}: cannot read (${systemReason(err)})`);
  }
}

/** A JSONL trace file; a line that is not an event is reported with its number. */
export async function readTraceFile(file: string): Promise<TraceEvent[]> {
  const text = await readText(file);
  try {
    return parseJsonl(text);
  } catch (err) {
    if (isCraError(err)) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
}

/** A trace to diff: JSONL, or a golden file (a JSON array of normalized events). */
async function readDiffable(file: string): Promise<DiffableEvent[]> {
  const text = await readText(file);
  try {
    return text.trimStart().startsWith('[') ? parseGolden(text) : parseJsonl(text);
  } catch (err) {
    if (isCraError(err)) throw new CliError(`${file}: ${err.message}`);
    throw err;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

// --- verify ----------------------------------------------------------------------------------

interface Verification {
  source: string;
  session_id?: string;
  valid: boolean;
  event_count: number;
  first_failure?: { index: number; error: string; message: string; sequence?: number };
  head?: { sequence: number; event_hash: string };
  /** From a runtime that signs checkpoints: every signed head must still be in the chain. */
  checkpoints?: {
    valid: boolean;
    checkpoints: number;
    heads_checked: number;
    failures: { error: string; message: string }[];
  };
}

function verificationTable(v: Verification): string {
  const lines: string[] = [];
  const f = v.first_failure;
  if (f) {
    const at = f.sequence !== undefined ? ` (sequence ${f.sequence})` : '';
    lines.push(`${style.bad(MARK.fail)} chain invalid at event index ${f.index}${at}: ${f.error}`, `  ${f.message}`);
  } else {
    const head = v.head ? `, head #${v.head.sequence} ${v.head.event_hash}` : '';
    lines.push(
      `${v.valid || v.checkpoints ? style.ok(MARK.ok) : style.bad(MARK.fail)} chain valid: ${v.event_count} event(s)${head}`,
    );
  }
  const c = v.checkpoints;
  if (c) {
    lines.push(
      c.valid
        ? `${style.ok(MARK.ok)} signed checkpoints: ${c.heads_checked} head(s) checked in ${c.checkpoints} checkpoint(s)`
        : `${style.bad(MARK.fail)} signed checkpoints: ${c.failures.length} failure(s)`,
      ...c.failures.map((x) => `  ${x.error}: ${x.message}`),
    );
  }
  return lines.join('\n');
}

// --- diff ------------------------------------------------------------------------------------

export function diffTable(d: TraceDiff): string {
  const painted =
    d.compatibility === 'breaking'
      ? style.bad(d.compatibility)
      : d.compatibility === 'compatible'
        ? style.warn(d.compatibility)
        : style.ok(d.compatibility);
  const s = d.summary;
  const head = fields([
    ['Compatibility', painted],
    [
      'Events',
      `${s.events_compared} compared, ${s.events_modified} modified, ${s.events_added} added, ${s.events_removed} removed, ${s.events_retyped} retyped`,
    ],
  ]);
  const severity = (sev: string): string =>
    sev === 'error' ? style.bad(sev) : sev === 'warning' ? style.warn(sev) : sev;
  const rows = table(
    ['SEVERITY', 'KIND', 'PATH', 'MESSAGE'],
    d.differences.map((x) => [severity(x.severity), x.kind, x.path, x.message]),
  );
  return [head, section('Differences', d.differences.length, rows)].join('\n');
}

// --- replay ----------------------------------------------------------------------------------

function replayTable(r: ReplayReport): string {
  const head = fields([
    ['Replayed', `${r.resolves} resolve(s) in ${r.sessions} session(s)`],
    ['Bundle', r.bundle_version],
    ['Cache hits', r.outcome_only > 0 ? `${r.outcome_only} compared by outcome only` : undefined],
  ]);
  const warnings = r.warnings.map((w) => `${style.warn('!')} ${w}`).join('\n');
  return [head, warnings, `\n${diffTable(r.diff)}`].filter(Boolean).join('\n');
}

// --- registration ----------------------------------------------------------------------------

interface DiffOpts extends OutputOpts {
  ignore?: string[];
  ignoreEventType?: string[];
  failOn: 'breaking' | 'compatible';
}

interface ReplayOpts extends OutputOpts {
  atlases: string[];
  policies?: string[];
  identities?: string[];
  secretsDir?: string;
  defaultRisk?: RiskTier;
  agent?: string;
  ignore?: string[];
}

function failed(d: TraceDiff, failOn: 'breaking' | 'compatible' = 'breaking'): boolean {
  return d.compatibility === 'breaking' || (failOn === 'compatible' && d.compatibility === 'compatible');
}

/** The export in `format`, converted line by line as it streams. */
function exportStream(body: ReadableStream<Uint8Array>, format: ExportFormat): TraceExportTransform {
  const converter = new TraceExportTransform(format);
  const source = Readable.fromWeb(body as Parameters<typeof Readable.fromWeb>[0]);
  source.on('error', (err) => converter.destroy(err));
  return source.pipe(converter);
}

/** Streams the export to `out` through a temporary file; resolves to the number of events. */
async function exportToFile(body: ReadableStream<Uint8Array>, out: string, format: ExportFormat): Promise<number> {
  const tmp = `${out}.${process.pid}.tmp`;
  const converter = exportStream(body, format);
  try {
    await pipeline(converter, createWriteStream(tmp));
    await rename(tmp, out);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new CliError(`cannot write ${out} (${systemReason(err)})`);
  }
  return converter.events;
}

async function exportToStdout(body: ReadableStream<Uint8Array>, format: ExportFormat): Promise<void> {
  for await (const chunk of exportStream(body, format)) {
    if (!process.stdout.write(chunk as string)) await once(process.stdout, 'drain');
  }
}

interface VisualizeOpts {
  port: number;
  open: boolean;
}

/** Serves the viewer for a file until SIGINT/SIGTERM. */
async function visualize(file: string, opts: VisualizeOpts): Promise<number> {
  const trace = new TraceFile(basename(file), parseTraceText(await readText(file), file));
  if (trace.events.length === 0) throw new CliError(`${file}: no events`);
  const { startVisualizer, openBrowser } = await import('./visualize.js');
  let viewer;
  try {
    viewer = await startVisualizer(trace, { port: opts.port });
  } catch (err) {
    throw new CliError(`cannot serve the viewer on 127.0.0.1:${opts.port} (${systemReason(err)})`);
  }
  const sessions = trace.sessions.length;
  write(viewer.url);
  writeErr(
    `trace viewer for ${file} (${trace.events.length} event(s), ${sessions} session(s)), read-only on loopback; Ctrl+C stops it`,
  );
  // A browser only on a terminal with a desktop: scripts and CI get the URL and nothing else.
  if (opts.open && process.stdout.isTTY === true && !openBrowser(viewer.url)) {
    writeErr('no browser to open here: open the URL above in one');
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await viewer.close();
  return 0;
}

export function registerTrace(program: Command, run: CommandRunner): void {
  const trace = program
    .command('trace')
    .description('verify, export, diff, replay and visualize TRACE audit logs')
    .addHelpText(
      'after',
      examples(
        'cra trace export 0190… --out session.jsonl',
        'cra trace verify session.jsonl',
        'cra trace diff golden.jsonl session.jsonl',
        'cra trace visualize session.jsonl',
      ),
    );

  addOutputOption(
    addRemoteOptions(
      trace
        .command('verify')
        .description('check a trace hash chain: a JSONL file locally, or a session id on the runtime')
        .argument('<file|session-id>', 'a .jsonl export, or the UUID of a session')
        .option(
          '--checkpoints <dir>',
          'also check a file against the signed checkpoints in this directory (its keys/ holds the public keys)',
        )
        .addHelpText(
          'after',
          examples(
            'cra trace verify session.jsonl',
            'cra trace verify session.jsonl --checkpoints .data/checkpoints',
            'cra trace verify 0190a5c2-…  --api-key dev-admin-key',
          ) +
            '\n\nThe first failure is reported with its index and type: invalid_genesis, hash_mismatch,' +
            '\nchain_broken or sequence_gap. Signed checkpoints catch a chain rewritten with valid hashes.' +
            '\nExit status: 0 valid, 1 invalid.',
        ),
    ),
  ).action((target: string, opts: OutputOpts & RemoteOpts & { checkpoints?: string }) =>
    run(async () => {
      let verification: Verification;
      if (!(await isFile(target)) && UUID.test(target)) {
        const r = await clientOf(opts).verifyTrace(target);
        verification = { source: opts.server, ...r };
      } else {
        const events = await readTraceFile(target);
        const r = verifyChain(events);
        const failedAt = r.first_failure ? events[r.first_failure.index] : undefined;
        verification = {
          source: target,
          ...r,
          ...(r.first_failure
            ? { first_failure: { ...r.first_failure, ...(failedAt ? { sequence: failedAt.sequence } : {}) } }
            : {}),
        };
        if (opts.checkpoints) {
          const [{ checkpointDirectory }, { verifyCheckpoints }] = await Promise.all([
            import('../store/checkpoint-files.js'),
            import('../domain/checkpoints.js'),
          ]);
          const sink = checkpointDirectory(opts.checkpoints);
          const sessions = new Set(events.map((e) => e.session_id));
          const report = await verifyCheckpoints(await sink.list(), await sink.keys(), async (id) =>
            sessions.has(id) ? events.filter((e) => e.session_id === id) : null,
          );
          verification = { ...verification, valid: verification.valid && report.valid, checkpoints: report };
        }
      }
      emit(formatOf(opts), verification, verificationTable);
      return verification.valid ? 0 : 1;
    }),
  );

  addRemoteOptions(
    trace
      .command('export')
      .description("download a session's events as JSONL, JSON or CSV (streamed)")
      .argument('<session-id>', 'the session UUID')
      .option('--out <file>', 'write to this file instead of standard output')
      .addOption(
        new Option(
          '--format <format>',
          'jsonl: one event per line; json: an array of events; csv: one row per event, payload as JSON',
        )
          .choices(EXPORT_FORMATS)
          .default('jsonl'),
      )
      .addHelpText(
        'after',
        examples(
          'cra trace export 0190a5c2-… --out session.jsonl',
          'cra trace export 0190a5c2-… | jq .event_type',
          'cra trace export 0190a5c2-… --format csv --out session.csv',
        ) +
          '\n\nCSV columns: sequence, timestamp, event_type, severity, trace_id, span_id, parent_span_id,' +
          '\nevent_hash, previous_event_hash, payload (JSON text); RFC 4180 quoting, CRLF line ends.',
      ),
  ).action((sessionId: string, opts: RemoteOpts & { out?: string; format: ExportFormat }) =>
    run(async () => {
      const body = await clientOf(opts).traceJsonl(sessionId);
      if (opts.out === undefined) {
        await exportToStdout(body, opts.format);
      } else {
        const events = await exportToFile(body, opts.out, opts.format);
        writeErr(`wrote ${events} event(s) of session ${sessionId} to ${opts.out}`);
      }
      return 0;
    }),
  );

  trace
    .command('visualize')
    .description('open the trace viewer on a JSONL file: served on loopback, read-only, no API key')
    .argument('<file>', 'a .jsonl export (or a JSON array of events)')
    .option('--port <n>', 'port on 127.0.0.1 (0 = any free port)', parseInteger(0, 65535), 0)
    .option('--no-open', 'only print the URL; do not start a browser')
    .addHelpText(
      'after',
      examples('cra trace visualize session.jsonl', 'cra trace visualize session.jsonl --port 8090 --no-open') +
        '\n\nPrints the viewer URL and serves it until Ctrl+C (exit status 0). A browser is started only' +
        '\nwhen standard output is a terminal and the desktop has one (never with --no-open).',
    )
    .action((file: string, opts: VisualizeOpts) => run(() => visualize(file, opts)));

  addOutputOption(
    trace
      .command('diff')
      .description('compare two traces (JSONL or golden JSON): identical, compatible or breaking')
      .argument('<expected>', 'the reference trace (e.g. a golden file)')
      .argument('<actual>', 'the trace to check')
      .option(
        '--ignore <field...>',
        'more volatile members: a key (any depth), a glob like *_ms, or a path like payload.goal',
      )
      .option('--ignore-event-type <type...>', 'leave these event types (globs) out before comparing')
      .addOption(
        new Option('--fail-on <level>', 'exit 1 on breaking differences only, or on any difference')
          .choices(['breaking', 'compatible'])
          .default('breaking'),
      )
      .addHelpText(
        'after',
        examples(
          'cra trace diff expected.jsonl actual.jsonl',
          'cra trace diff golden.json run.jsonl --ignore goal --ignore-event-type "system.*"',
          'cra trace diff a.jsonl b.jsonl -o json | jq .summary',
        ) +
          '\n\nEvents are aligned by type (longest common subsequence); ids, timestamps, hashes and durations' +
          '\nare ignored. A missing, extra or re-typed event, or a changed decision, grant, denial or error' +
          '\ncode is breaking. Exit status: 0 identical or compatible, 1 breaking (or any difference with --fail-on compatible).',
      ),
  ).action((expectedFile: string, actualFile: string, opts: DiffOpts) =>
    run(async () => {
      const [expected, actual] = await Promise.all([readDiffable(expectedFile), readDiffable(actualFile)]);
      const diff = diffTraces(expected, actual, {
        ...(opts.ignore ? { ignore: opts.ignore } : {}),
        ...(opts.ignoreEventType ? { ignoreEventTypes: opts.ignoreEventType } : {}),
      });
      emit(formatOf(opts), diff, diffTable);
      return failed(diff, opts.failOn) ? 1 : 0;
    }),
  );

  addOutputOption(
    trace
      .command('replay')
      .description("re-run a trace's resolves against atlases in-process and diff the outcome")
      .argument('<file>', 'a JSONL trace (e.g. from cra trace export)')
      .requiredOption('--atlases <dir...>', 'atlas directories (or folders of them) to build the bundle from')
      .option('--policies <file...>', 'Policy resource files')
      .option(
        '--identities <file...>',
        'AgentIdentity files: replay as the recorded agents, with their labels and limits',
      )
      .option('--secrets-dir <dir>', "secrets as files (for the identities' API-key digests)")
      .addOption(
        new Option(
          '--default-risk <tier>',
          'risk tier for requests that named none (the runtime default is low)',
        ).choices(RISK_TIERS),
      )
      .option('--agent <id>', 'agent for sessions whose session.started event is not in the file')
      .option('--ignore <field...>', 'more volatile members to ignore in the diff')
      .addHelpText(
        'after',
        examples(
          'cra trace replay session.jsonl --atlases atlases',
          'cra trace replay session.jsonl --atlases atlases --identities examples/local/identities.yaml --secrets-dir examples/local/secrets',
        ) +
          '\n\nNothing is executed: only resolves are replayed, on an in-memory runtime. Exit status: 0 when the' +
          '\nreplay is identical or compatible, 1 when breaking (e.g. a changed decision or grant).',
      ),
  ).action((file: string, opts: ReplayOpts) =>
    run(async () => {
      const format = formatOf(opts);
      const events = await readTraceFile(file);
      const bar = progress(format);
      bar.update('building the bundle…');
      let report: ReplayReport;
      try {
        report = await replayTrace(events, {
          atlases: opts.atlases,
          ...(opts.policies ? { policies: opts.policies } : {}),
          ...(opts.identities ? { identities: opts.identities } : {}),
          ...(opts.secretsDir ? { secretsDir: opts.secretsDir } : {}),
          ...(opts.defaultRisk ? { defaultRisk: opts.defaultRisk } : {}),
          ...(opts.agent ? { agent: opts.agent } : {}),
          ...(opts.ignore ? { ignore: opts.ignore } : {}),
          onProgress: (done, total) => bar.update(`replaying resolve ${Math.min(done + 1, total)}/${total}…`),
        });
      } finally {
        bar.done();
      }
      emit(format, report, replayTable);
      return failed(report.diff) ? 1 : 0;
    }),
  );
}

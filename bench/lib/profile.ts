/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function, self time per
 * package/area, and inclusive time of chosen functions (synchronous stacks only: time after an
 * `await` is attributed to whatever resumes it).
 */
import { readFile } from 'node:fs/promises';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  where: string;
  area: string;
  ms: number;
  /** Share of busy (non-idle) time. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  byArea: { area: string; ms: number; share: number }[];
  topSelf: FunctionTime[];
  inclusive: { name: string; ms: number; share: number }[];
}

const REPO_MARK = /\/(core|runtime|bench)\/(dist|src|lib)\//;

function shortUrl(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const m = REPO_MARK.exec(url);
  if (m) return url.slice(m.index + 1);
  return url.replace(/^file:\/\//, '');
}

/** Areas by URL (first match wins); frames without a URL are V8 builtins or pseudo-frames. */
const AREAS: [RegExp, string][] = [
  [/^wasm:\/\//, 'PGlite (WASM Postgres)'],
  [/\/@electric-sql\/pglite\//, 'PGlite (JS glue, incl. its file system calls)'],
  [/\/fast-json-stringify\//, 'fastify response serialization'],
  [/\/(fastify|@fastify|find-my-way|avvio|light-my-request|fast-querystring|secure-json-parse)\//, 'fastify'],
  [/\/ajv(-formats)?\//, 'ajv (schema validation)'],
  [/\/(core|runtime)\/(dist|src)\//, ''],
  [/^node:/, 'Node.js internals (net, http, streams, fs)'],
];

const PSEUDO = new Map([
  ['(garbage collector)', 'GC'],
  ['(program)', '(program: V8/native, unattributed)'],
  ['(idle)', '(idle)'],
]);

/** The area a frame belongs to, for the per-area breakdown. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  const pseudo = PSEUDO.get(functionName);
  if (pseudo) return pseudo;
  if (/^(\$|wasm-function)/.test(functionName)) return 'PGlite (WASM Postgres)';
  if (!url) return 'V8 builtins (JSON, RegExp, wasm calls…)';
  for (const [pattern, area] of AREAS) {
    if (!pattern.test(url)) continue;
    if (area) return area;
    // Our packages: by top-level directory, e.g. "@cra/core trace".
    const m = /\/(core|runtime)\/(?:dist|src)\/([^/]+)\//.exec(url);
    return m ? `@cra/${m[1]} ${m[2]}` : `@cra/${/\/(core|runtime)\//.exec(url)![1]}`;
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm < 0) return 'other';
  const [first, second] = url.slice(nm + '/node_modules/'.length).split('/');
  return first!.startsWith('@') ? `${first}/${second}` : first!;
}

/** A function to report inclusive time for: by name, optionally only where its URL contains `url`. */
export interface FunctionMatcher {
  label: string;
  name: string;
  url?: string;
}

interface Indexed {
  byId: Map<number, ProfileNode>;
  parent: Map<number, number>;
  /** Per sample: the µs it stands for. */
  weightUs: number[];
  samples: number[];
}

function indexProfile(profile: CpuProfile): Indexed {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  // Sample i stands for the interval up to the next sample.
  const weightUs = profile.samples.map((_, i) => profile.timeDeltas[i + 1] ?? 0);
  return { byId, parent, weightUs, samples: profile.samples };
}

function selfTimes(ix: Indexed) {
  const selfUs = new Map<number, number>();
  ix.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + ix.weightUs[i]!));
  const byFunction = new Map<string, { name: string; where: string; area: string; us: number }>();
  const byArea = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = ix.byId.get(id)!.callFrame;
    totalUs += us;
    const area = areaOf(frame);
    if (area === '(idle)') {
      idleUs += us;
      continue;
    }
    byArea.set(area, (byArea.get(area) ?? 0) + us);
    const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const name = frame.functionName || '(anonymous)';
    const key = `${name}\u0000${where}`;
    const entry = byFunction.get(key) ?? { name, where, area, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
  }
  return { byFunction, byArea, totalUs, busyUs: totalUs - idleUs };
}

/** A sample counts once for each matcher that matches a frame on its stack. */
function inclusiveTimes(ix: Indexed, matchers: readonly FunctionMatcher[]): Map<string, number> {
  const out = new Map<string, number>();
  const matches = (frame: CallFrame, m: FunctionMatcher) =>
    frame.functionName === m.name && (m.url === undefined || frame.url.includes(m.url));
  ix.samples.forEach((leaf, i) => {
    const dt = ix.weightUs[i]!;
    if (dt === 0) return;
    const seen = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = ix.parent.get(id)) {
      const frame = ix.byId.get(id)!.callFrame;
      for (const m of matchers) {
        if (seen.has(m.label) || !matches(frame, m)) continue;
        seen.add(m.label);
        out.set(m.label, (out.get(m.label) ?? 0) + dt);
      }
    }
  });
  return out;
}

export async function summarizeProfile(
  file: string,
  inclusiveOf: readonly FunctionMatcher[] = [],
): Promise<ProfileSummary> {
  const ix = indexProfile(JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
  const { byFunction, byArea, totalUs, busyUs } = selfTimes(ix);
  const inclusiveUs = inclusiveTimes(ix, inclusiveOf);
  const share = (us: number) => (busyUs > 0 ? us / busyUs : 0);
  return {
    totalMs: totalUs / 1000,
    busyMs: busyUs / 1000,
    byArea: [...byArea].map(([area, us]) => ({ area, ms: us / 1000, share: share(us) })).sort((a, b) => b.ms - a.ms),
    topSelf: [...byFunction.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, 20)
      .map((f) => ({ name: f.name, where: f.where, area: f.area, ms: f.us / 1000, share: share(f.us) })),
    inclusive: inclusiveOf.map(({ label }) => {
      const us = inclusiveUs.get(label) ?? 0;
      return { name: label, ms: us / 1000, share: share(us) };
    }),
  };
}

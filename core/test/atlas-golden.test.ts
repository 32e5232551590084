/**
 * Golden resolutions of the reference atlases (atlases/<name>/golden/). Each atlas directory is
 * read with node:fs and loaded with core's local-format functions; each case of
 * `golden/requests.yaml` is resolved with a fixed clock and deterministic ids, normalized (no
 * ids, timestamps or timings) and compared with `golden/<case>.json`.
 *
 * `UPDATE_GOLDEN=1` rewrites the golden files instead (never when `CI` is set). A case's
 * `expected_decision` is checked first either way, so a regenerated golden cannot bake in a
 * decision the atlas was not designed for.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { LoadedAtlas } from '../src/atlas/types.js';
import { validateLocalManifest } from '../src/atlas/validate.js';
import { compileBundle } from '../src/bundle/compile.js';
import type { Role } from '../src/bundle/types.js';
import { carpResolutionSchema } from '../src/carp/schemas.js';
import { validateCarpRequest } from '../src/carp/validate.js';
import type { CARPResolution, DecisionType, ResolveRequest, RiskTier, Scope } from '../src/carp/types.js';
import { sequentialIds } from '../src/ids.js';
import { createAjv } from '../src/validation.js';
import { indexBundle, type BundleIndex } from '../src/resolver/bundle-index.js';
import { materializeResolution } from '../src/resolver/materialize.js';
import { planResolution } from '../src/resolver/plan.js';
import type { Principal } from '../src/resolver/types.js';
import {
  MONDAY_NOON_UTC,
  REFERENCE_ATLAS_NAMES,
  REFERENCE_ATLASES_DIR,
  referenceAtlas,
  REQUEST_ID,
  SESSION_ID,
} from './fixtures/builders.js';

const ATLASES_DIR = REFERENCE_ATLASES_DIR;
const REFERENCE_ATLASES: string[] = [...REFERENCE_ATLAS_NAMES];
const loadAtlas = referenceAtlas;
const UPDATE = process.env.UPDATE_GOLDEN === '1' && !process.env.CI;
const NOW = MONDAY_NOON_UTC;

interface GoldenCase {
  name: string;
  bundle?: 'alone' | 'all';
  request: { goal: string; risk_tier?: RiskTier; context_hints?: string[]; scope?: Scope };
  agent?: { id: string; roles: Role[]; labels: Record<string, string>; maxRiskTier?: RiskTier };
  expected_decision: DecisionType;
  todo?: string;
}

function dirOf(name: string): URL {
  return new URL(`${name}/`, ATLASES_DIR);
}

function readText(dir: URL, path: string): string {
  return readFileSync(new URL(path, dir), 'utf8');
}

function indexOf(atlases: LoadedAtlas[]): BundleIndex {
  const { bundle, rejected } = compileBundle({ atlases, policies: [], identities: [] });
  expect(rejected).toEqual([]);
  return indexBundle(bundle);
}

function readCases(name: string): GoldenCase[] {
  return parseYaml(readText(dirOf(name), 'golden/requests.yaml')) as GoldenCase[];
}

function requestOf(c: GoldenCase): ResolveRequest {
  const agentId = c.agent?.id ?? 'golden-agent';
  return {
    carp_version: '1.0',
    request_id: REQUEST_ID,
    timestamp: new Date(NOW).toISOString(),
    operation: 'resolve',
    requester: { agent_id: agentId, session_id: SESSION_ID },
    task: {
      goal: c.request.goal,
      ...(c.request.risk_tier ? { risk_tier: c.request.risk_tier } : {}),
      ...(c.request.context_hints ? { context_hints: c.request.context_hints } : {}),
    },
    ...(c.request.scope ? { scope: c.request.scope } : {}),
  };
}

function principalOf(c: GoldenCase): Principal {
  const agent = c.agent ?? { id: 'golden-agent', roles: ['agent'] as Role[], labels: {} };
  return {
    agentId: agent.id,
    namespace: 'default',
    labels: agent.labels,
    roles: agent.roles,
    ...(agent.maxRiskTier ? { maxRiskTier: agent.maxRiskTier } : {}),
  };
}

/** The stable, reviewable view of a resolution: no ids, timestamps or timings. */
function normalize(c: GoldenCase, resolution: CARPResolution) {
  const ttlSeconds = (Date.parse(resolution.ttl.resolution_expires_at) - Date.parse(resolution.timestamp)) / 1000;
  return {
    case: c.name,
    bundle: c.bundle ?? 'alone',
    request: c.request,
    ...(c.agent ? { agent: c.agent } : {}),
    decision: resolution.decision,
    context: resolution.context_blocks.map((b) => ({
      atlas_ref: b.atlas_ref,
      pack_ref: b.pack_ref,
      domain: b.domain,
      token_count: b.token_count,
      content_hash: b.content_hash,
      evidence_count: b.evidence_refs.length,
    })),
    grants: resolution.allowed_actions.map((g) => ({
      atlas_ref: g.atlas_ref,
      atlas_action_id: g.atlas_action_id,
      action_type: g.action_type,
      risk_tier: g.risk_tier,
      requires_approval: g.requires_approval,
      constraints: g.constraints.map((x) => x.type),
      ...(g.rate_limit ? { rate_limit: g.rate_limit } : {}),
    })),
    denials: resolution.denied_actions.map((d) => ({
      action_type: d.action_type,
      reason: d.reason,
      permanent: d.permanent,
      policy_refs: d.policy_refs,
    })),
    ttl_seconds: ttlSeconds,
    refresh_hint_seconds: resolution.ttl.refresh_hint_seconds,
    warnings: (resolution.warnings ?? []).map((w) => w.code),
    policies_applied: resolution.policies_applied.map((p) => ({
      policy_id: p.policy_id,
      rules_evaluated: p.rules_evaluated,
      rules_matched: p.rules_matched,
      effects: p.effects,
    })),
  };
}

/**
 * JSON for review: two-space indentation, but arrays of scalars and objects of scalars that fit
 * on one line stay on one line, so each grant, block and effect reads as one row.
 */
function serialize(value: unknown): string {
  const scalar = (v: unknown): boolean => v === null || typeof v !== 'object';
  const render = (v: unknown, indent: string): string => {
    if (scalar(v)) return JSON.stringify(v);
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      if (v.every(scalar)) {
        const flat = `[${v.map((x) => JSON.stringify(x)).join(', ')}]`;
        if (indent.length + flat.length <= 100) return flat;
      }
      return `[\n${v.map((x) => inner + render(x, inner)).join(',\n')}\n${indent}]`;
    }
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return '{}';
    const flat = `{ ${entries.map(([k, x]) => `${JSON.stringify(k)}: ${render(x, inner)}`).join(', ')} }`;
    if (!flat.includes('\n') && indent.length + flat.length <= 120) return flat;
    return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${render(x, inner)}`).join(',\n')}\n${indent}}`;
  };
  return `${render(value, '')}\n`;
}

function once<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

/** The three reference atlases compiled into one bundle, as `make run` serves them. */
const allTogether = once(() => indexOf(REFERENCE_ATLASES.map(loadAtlas)));
const validResolution = createAjv().compile(carpResolutionSchema);

// ---------------------------------------------------------------------------------------------

describe('reference atlases', () => {
  it('are exactly the atlas directories under atlases/', () => {
    const dirs = readdirSync(ATLASES_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(new URL(`${d.name}/atlas.yaml`, ATLASES_DIR)))
      .map((d) => d.name)
      .sort();
    expect(dirs).toEqual(REFERENCE_ATLASES);
  });

  it.each(REFERENCE_ATLASES)('%s passes validateLocalManifest, loads and compiles', (name) => {
    const manifest: unknown = parseYaml(readText(dirOf(name), 'atlas.yaml'));
    expect(validateLocalManifest(manifest)).toEqual([]);
    const atlas = loadAtlas(name);
    expect(atlas.ref).toBe(`default/${name}@${atlas.spec.version}`);
    for (const p of atlas.spec.contextPacks ?? []) expect(p.content, `${name}#${p.id}`).toBeTruthy();
    indexOf([atlas]);
  });

  it('compile together into one bundle', () => {
    const index = allTogether();
    expect(index.atlases.map((a) => a.atlas.name)).toEqual(REFERENCE_ATLASES);
    expect(index.timeSensitive).toBe(false);
  });
});

for (const atlasName of REFERENCE_ATLASES) {
  describe(`golden resolutions of ${atlasName}`, () => {
    const cases = readCases(atlasName);
    const goldenDir = new URL('golden/', dirOf(atlasName));
    const alone = once(() => indexOf([loadAtlas(atlasName)]));

    it('has at least 6 cases with unique names, and a golden file for each and no other', () => {
      expect(cases.length).toBeGreaterThanOrEqual(6);
      const names = cases.map((c) => c.name);
      expect(new Set(names).size).toBe(names.length);
      if (UPDATE) return;
      const files = readdirSync(goldenDir).filter((f) => f.endsWith('.json'));
      expect(files.sort()).toEqual(
        cases
          .filter((c) => !c.todo)
          .map((c) => `${c.name}.json`)
          .sort(),
      );
    });

    for (const c of cases) {
      if (c.todo) {
        it.todo(`${c.name}: ${c.todo}`);
        continue;
      }
      it(`${c.name} → ${c.expected_decision}`, () => {
        const request = requestOf(c);
        expect(validateCarpRequest(request, 'resolve')).toEqual([]);
        const index = c.bundle === 'all' ? allTogether() : alone();
        const plan = planResolution({ request, index, principal: principalOf(c), now: NOW });
        const { resolution } = materializeResolution({
          plan,
          request,
          ids: sequentialIds(),
          now: NOW,
          telemetry: { trace_id: '0'.repeat(31) + '1', span_id: '0'.repeat(15) + '1', events_emitted: 0 },
        });
        expect(resolution.decision.type, 'the decision the atlas was designed for').toBe(c.expected_decision);
        expect(validResolution(resolution), JSON.stringify(validResolution.errors)).toBe(true);

        const actual = serialize(normalize(c, resolution));
        const file = new URL(`${c.name}.json`, goldenDir);
        if (UPDATE) {
          writeFileSync(file, actual);
          return;
        }
        expect(existsSync(file), `missing ${file.pathname}: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
        const golden = readFileSync(file, 'utf8');
        expect(JSON.parse(actual)).toEqual(JSON.parse(golden));
        expect(actual, 'golden file formatting').toBe(golden);
      });
    }
  });
}

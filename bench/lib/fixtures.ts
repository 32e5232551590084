/**
 * What every resolve benchmark works on: the reference atlases compiled with the dev identities
 * (as `make run` serves them), the `dev-agent` principal, and a representative mix of requests.
 */
import { fileURLToPath } from 'node:url';
import {
  goalHash,
  indexBundle,
  materializeResolution,
  planResolution,
  randomIds,
  resolutionCompletedStep,
  type BundleIndex,
  type CARPResolution,
  type Principal,
  type RedactionRule,
  type ResolveRequest,
  type RiskTier,
  type TraceStep,
} from '@cra/core';
import { IdentityRegistry } from '../../runtime/dist/auth/identities.js';
import { loadConfig } from '../../runtime/dist/config/load.js';
import type { RuntimeConfig } from '../../runtime/dist/config/schema.js';
import { loadBundle } from '../../runtime/dist/runtime.js';

export const repo = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

export const AGENT_ID = 'dev-agent';
export const AGENT_KEY = 'dev-agent-key';
export const ADMIN_KEY = 'dev-admin-key';

/** The runtime configuration of the benchmarks; `overrides` are dotted paths as on the CLI. */
export async function benchConfig(overrides: Record<string, unknown> = {}): Promise<Readonly<RuntimeConfig>> {
  return loadConfig({
    env: {},
    overrides: {
      atlases: [repo('atlases')],
      identities: [repo('examples/local/identities.yaml')],
      secretsDir: repo('examples/local/secrets'),
      watch: false,
      'log.level': 'silent',
      ...overrides,
    },
  });
}

export interface RequestCase {
  id: string;
  risk: RiskTier;
  goal: string;
  hints?: string[];
}

/**
 * The mix: each risk tier with and without context hints, over the three reference atlases.
 * Without hints a request selects every atlas, so those answers are the large ones (~60 kB).
 */
export const REQUEST_MIX: readonly RequestCase[] = [
  { id: 'low', risk: 'low', goal: 'Open an issue about the login crash' },
  {
    id: 'low+hints',
    risk: 'low',
    goal: 'File a bug report about the broken login button and close the duplicate issue',
    hints: ['github.issues'],
  },
  { id: 'low+hints-k8s', risk: 'low', goal: 'Troubleshoot the incident with the pod logs', hints: ['k8s.observe'] },
  { id: 'medium', risk: 'medium', goal: 'Open a pull request that fixes the login bug' },
  {
    id: 'medium+hints',
    risk: 'medium',
    goal: 'Scale the checkout deployment to 5 replicas',
    hints: ['k8s.workloads'],
  },
  { id: 'high', risk: 'high', goal: 'Merge the approved pull request for the login fix' },
  {
    id: 'high+hints',
    risk: 'high',
    goal: 'Refund the duplicate charge on order ord_456',
    hints: ['support.billing'],
  },
];

export function resolveRequest(
  c: RequestCase,
  options: { goalSuffix?: string; sessionId?: string } = {},
): ResolveRequest {
  return {
    carp_version: '1.0',
    request_id: randomIds.uuid(),
    timestamp: new Date().toISOString(),
    operation: 'resolve',
    requester: { agent_id: AGENT_ID, session_id: options.sessionId ?? randomIds.uuid() },
    task: {
      goal: options.goalSuffix ? `${c.goal} ${options.goalSuffix}` : c.goal,
      risk_tier: c.risk,
      ...(c.hints ? { context_hints: c.hints } : {}),
    },
  };
}

export interface ReferenceBundle {
  config: Readonly<RuntimeConfig>;
  index: BundleIndex;
  principal: Principal;
}

let loaded: Promise<ReferenceBundle> | undefined;

/** Loaded once per process. */
export function referenceBundle(): Promise<ReferenceBundle> {
  loaded ??= loadReferenceBundle();
  return loaded;
}

async function loadReferenceBundle(): Promise<ReferenceBundle> {
  const config = await benchConfig();
  const { bundle, problems } = await loadBundle(config);
  if (problems.length > 0) throw new Error(`reference bundle has problems: ${JSON.stringify(problems)}`);
  const principal = new IdentityRegistry(bundle).byAgentId(AGENT_ID);
  if (!principal) throw new Error(`${AGENT_ID} has no identity in the reference bundle`);
  return { config, index: indexBundle(bundle), principal };
}

export interface InProcessResolution {
  resolution: CARPResolution;
  /** The TRACE steps the runtime emits for this resolve (cache miss), in order. */
  steps: TraceStep[];
  redactions: RedactionRule[];
}

/**
 * Plan and materialise like the runtime's resolve operation does on a cache miss; the steps are
 * the ones `runtime/src/domain/resolve.ts` emits (received, validated, started, the plan's,
 * evidence, completed).
 */
export function resolver(bundle: ReferenceBundle): (request: ResolveRequest) => InProcessResolution {
  const { index, principal, config } = bundle;
  return (request) => {
    const now = Date.now();
    const plan = planResolution({ request, index, principal, now, defaults: config.resolver });
    const { resolution, steps } = materializeResolution({
      plan,
      request,
      ids: randomIds,
      now,
      telemetry: { trace_id: randomIds.traceId(), span_id: randomIds.spanId(), events_emitted: 0 },
    });
    const task = request.task;
    return {
      resolution,
      redactions: plan.redactions,
      steps: [
        {
          type: 'carp.request.received',
          payload: {
            request_id: request.request_id,
            operation: request.operation,
            goal: task.goal,
            goal_hash: goalHash(task.goal),
            ...(task.risk_tier ? { risk_tier: task.risk_tier } : {}),
            ...(task.context_hints ? { context_hints: task.context_hints } : {}),
          },
        },
        { type: 'carp.request.validated', payload: { request_id: request.request_id } },
        { type: 'carp.resolution.started', payload: { request_id: request.request_id, bundle_version: index.version } },
        ...plan.steps,
        ...steps,
        resolutionCompletedStep(resolution),
      ],
    };
  };
}

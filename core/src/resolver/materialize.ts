/**
 * Turns a plan into a CARPResolution with fresh ids and times (CRA-SPEC §3 steps 3–6): blocks
 * with content hashes and evidence linked to real Evidence entries, grants with fresh UUIDv7 ids
 * valid until the resolution expires, TTL folded from the blocks.
 */
import {
  CARP_VERSION,
  type ActionPermission,
  type CARPResolution,
  type ContextBlock,
  type Evidence,
  type ResolveRequest,
} from '../carp/types.js';
import { isoTime, type IdSource } from '../ids.js';
import type { ResolutionPlan } from './plan.js';
import type { TraceStep } from './types.js';

export interface MaterializeInput {
  plan: ResolutionPlan;
  request: ResolveRequest;
  ids: IdSource;
  now: number;
  telemetry: { trace_id: string; span_id: string; events_emitted: number };
}

export interface Materialized {
  resolution: CARPResolution;
  /** `carp.evidence.gathered`; the caller appends `carp.resolution.completed` last. */
  steps: TraceStep[];
}

export function materializeResolution(input: MaterializeInput): Materialized {
  const { plan, request, ids, now } = input;
  const createdAt = isoTime(now);
  const expiresAt = isoTime(now + plan.ttlSeconds * 1000);
  const evidence: Evidence[] = [];
  const evidenceByDomain = new Map<string, string[]>();

  const blocks: ContextBlock[] = plan.blocks.map(({ pack }) => {
    const refs = pack.evidenceSources.map((source) => {
      const id = ids.uuid();
      evidence.push({
        evidence_id: id,
        type: 'documentation',
        source,
        ...(/^https?:\/\//.test(source) ? { source_url: source } : {}),
        atlas_ref: pack.atlasRef,
        content_hash: pack.contentHash,
        content_preview: pack.preview,
        created_at: createdAt,
        verified: true,
        verification_method: 'bundle_content_hash',
      });
      return id;
    });
    const key = `${pack.atlasRef}#${pack.domain}`;
    evidenceByDomain.set(key, [...(evidenceByDomain.get(key) ?? []), ...refs]);
    return {
      block_id: ids.uuid(),
      content_hash: pack.contentHash,
      atlas_ref: pack.atlasRef,
      pack_ref: pack.id,
      domain: pack.domain,
      content_type: pack.format,
      content: pack.content,
      token_count: pack.tokens,
      ttl_seconds: pack.ttlSeconds,
      evidence_refs: refs,
      tags: pack.tags,
      priority: pack.priority,
    };
  });

  const allowed: ActionPermission[] = plan.grants.map(({ atlas, action, outcome, constraints }) => ({
    action_id: ids.uuid(),
    atlas_action_id: action.id,
    action_type: action.type,
    name: action.name,
    description: action.description,
    schema: action.schema,
    ...(action.examples && action.examples.length > 0
      ? {
          examples: action.examples.map((e) => ({
            description: e.description,
            parameters: e.parameters,
            ...(e.expectedOutcome ? { expected_outcome: e.expectedOutcome } : {}),
          })),
        }
      : {}),
    constraints,
    ...(outcome.constraints.length > 0 ? { parameter_constraints: outcome.constraints } : {}),
    requires_approval: outcome.requiresApproval,
    ...(outcome.requiresApproval ? { approval_type: 'async' as const } : {}),
    risk_tier: action.riskTier,
    ...(outcome.rateLimit
      ? {
          rate_limit: {
            requests: outcome.rateLimit.requests,
            window_seconds: outcome.rateLimit.windowSeconds,
            scope: outcome.rateLimit.scope,
          },
        }
      : {}),
    atlas_ref: atlas.atlas.ref,
    domain: action.domain,
    evidence_refs: evidenceByDomain.get(`${atlas.atlas.ref}#${action.domain}`) ?? [],
    valid_until: expiresAt,
  }));

  const resolution: CARPResolution = {
    carp_version: CARP_VERSION,
    request_id: request.request_id,
    resolution_id: ids.uuid(),
    session_id: request.requester.session_id,
    timestamp: createdAt,
    bundle_version: plan.bundleVersion,
    decision: plan.decision,
    context_blocks: blocks,
    allowed_actions: allowed,
    denied_actions: plan.denials,
    policies_applied: plan.policiesApplied,
    evidence,
    ttl: {
      context_expires_at: expiresAt,
      resolution_expires_at: expiresAt,
      refresh_hint_seconds: Math.floor(plan.ttlSeconds * 0.8),
    },
    telemetry_link: input.telemetry,
    ...(plan.warnings.length > 0 ? { warnings: plan.warnings } : {}),
  };
  return {
    resolution,
    steps: [{ type: 'carp.evidence.gathered', payload: { evidence_count: evidence.length } }],
  };
}

export function resolutionCompletedStep(resolution: CARPResolution): TraceStep {
  return {
    type: 'carp.resolution.completed',
    payload: {
      request_id: resolution.request_id,
      resolution_id: resolution.resolution_id,
      decision_type: resolution.decision.type,
      context_blocks_count: resolution.context_blocks.length,
      allowed_actions_count: resolution.allowed_actions.length,
      denied_actions_count: resolution.denied_actions.length,
      policies_applied_count: resolution.policies_applied.length,
      bundle_version: resolution.bundle_version,
    },
  };
}

/**
 * Leader election settings, their defaults (controller-runtime's: 15 s / 10 s / 2 s) and the
 * checks client-go's `NewLeaderElector` makes: leaseDuration > renewDeadline > 1.2 × retryPeriod.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

/** client-go `JitterFactor`: the acquire loop waits retryPeriod × (1 + rand·1.2). */
export const JITTER_FACTOR = 1.2;

export const LEADER_ELECTION_DEFAULTS = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  releaseOnCancel: true,
} as const;

export interface LeaderElectionConfig {
  /** Namespace of the Lease (the operator's own namespace). */
  namespace: string;
  /** Name of the Lease, e.g. `cra-operator`. */
  name: string;
  /** Default `${hostname}_${uuid}` (controller-runtime's form): unique per process. */
  identity?: string;
  /** How long a non-leader waits after it last saw the record change before taking over. Whole seconds. */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a failed renew before it gives up leadership. */
  renewDeadlineMs?: number;
  /** Pause between attempts (jittered ×1–2.2 while acquiring). */
  retryPeriodMs?: number;
  /** Release the lease (empty holder) when stopped, after the leading work has finished. Default true. */
  releaseOnCancel?: boolean;
}

export type ResolvedLeaderElectionConfig = Required<LeaderElectionConfig>;

export interface ConfigViolation {
  /** JSON Pointer into the configuration, e.g. `/renewDeadlineMs`. */
  path: string;
  message: string;
}

export class LeaderElectionConfigError extends Error {
  readonly violations: ConfigViolation[];

  constructor(violations: ConfigViolation[]) {
    super(`invalid leader election configuration: ${violations.map((v) => `${v.path} ${v.message}`).join('; ')}`);
    this.name = 'LeaderElectionConfigError';
    this.violations = violations;
  }
}

/** `${hostname}_${uuid}`, as controller-runtime builds it. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

function positiveNumber(value: number, path: string, violations: ConfigViolation[]): boolean {
  if (!Number.isFinite(value) || value <= 0) {
    violations.push({ path, message: `must be a positive number of milliseconds (got ${String(value)})` });
    return false;
  }
  return true;
}

function checkNames(config: ResolvedLeaderElectionConfig, violations: ConfigViolation[]): void {
  for (const key of ['namespace', 'name', 'identity'] as const) {
    const value: unknown = config[key];
    if (typeof value !== 'string' || value === '') {
      violations.push({ path: `/${key}`, message: 'must be a non-empty string' });
    }
  }
}

function checkTimings(config: ResolvedLeaderElectionConfig, violations: ConfigViolation[]): void {
  const { leaseDurationMs: ld, renewDeadlineMs: rd, retryPeriodMs: rp } = config;
  const ldOk = positiveNumber(ld, '/leaseDurationMs', violations);
  const rdOk = positiveNumber(rd, '/renewDeadlineMs', violations);
  const rpOk = positiveNumber(rp, '/retryPeriodMs', violations);
  if (ldOk && ld % 1000 !== 0) {
    violations.push({
      path: '/leaseDurationMs',
      message: `must be a whole number of seconds: the Lease stores leaseDurationSeconds (got ${ld})`,
    });
  }
  if (ldOk && rdOk && ld <= rd) {
    violations.push({ path: '/leaseDurationMs', message: `must be greater than renewDeadlineMs (${ld} <= ${rd})` });
  }
  if (rdOk && rpOk && rd <= JITTER_FACTOR * rp) {
    violations.push({
      path: '/renewDeadlineMs',
      message: `must be greater than ${JITTER_FACTOR} × retryPeriodMs (${rd} <= ${JITTER_FACTOR * rp})`,
    });
  }
}

/** Applies defaults and validates; throws `LeaderElectionConfigError` naming every bad field. */
export function resolveLeaderElectionConfig(config: LeaderElectionConfig): ResolvedLeaderElectionConfig {
  const resolved: ResolvedLeaderElectionConfig = {
    namespace: config.namespace,
    name: config.name,
    identity: config.identity ?? defaultIdentity(),
    leaseDurationMs: config.leaseDurationMs ?? LEADER_ELECTION_DEFAULTS.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs ?? LEADER_ELECTION_DEFAULTS.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs ?? LEADER_ELECTION_DEFAULTS.retryPeriodMs,
    releaseOnCancel: config.releaseOnCancel ?? LEADER_ELECTION_DEFAULTS.releaseOnCancel,
  };
  const violations: ConfigViolation[] = [];
  checkNames(resolved, violations);
  checkTimings(resolved, violations);
  if (violations.length > 0) throw new LeaderElectionConfigError(violations);
  return resolved;
}

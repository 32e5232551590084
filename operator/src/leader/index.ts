// Leader election on coordination.k8s.io Leases (docs/reference/leader-election.md).
export { LeaderElector } from './elector.js';
export type {
  LeaderCallbacks,
  LeaderElectorOptions,
  LeaderEventRecorder,
  LeaderTransition,
  StopReason,
  StoppedLeadingInfo,
} from './elector.js';
export {
  JITTER_FACTOR,
  LEADER_ELECTION_DEFAULTS,
  LeaderElectionConfigError,
  defaultIdentity,
  resolveLeaderElectionConfig,
} from './config.js';
export type { ConfigViolation, LeaderElectionConfig, ResolvedLeaderElectionConfig } from './config.js';
export { LeaseLock, abortOptions, leaseSpecFromRecord, recordFromLeaseSpec } from './lease-lock.js';
export type { LeaseApi, LeaseLockOptions } from './lease-lock.js';
export { LockError, isLockNotFound } from './lock.js';
export type { ObservedLock, ResourceLock } from './lock.js';
export { MICRO_TIME_PATTERN, WireMicroTime, formatMicroTime, microTimeFromWire, rawRecord } from './record.js';
export type { LeaderElectionRecord } from './record.js';
export { deadline, sleep, systemElectionClock } from './clock.js';
export type { ElectionClock } from './clock.js';
export { LEADER_METRIC, LEADER_METRIC_HELP, noLeaderMetrics, prometheusLeaderMetrics } from './metrics.js';
export type { LeaderMetrics } from './metrics.js';
export { LEADER_ELECTION_EVENT_REASON, leaseEventRecorder } from './events.js';
export type { EventApi, LeaseEventRecorderOptions } from './events.js';
export { LEADERSHIP_LOST_EXIT_CODE, exitOnLeadershipLost } from './exit.js';
export type { ExitOnLeadershipLostOptions } from './exit.js';

// Process harnesses for tests: real Redis, Postgres and a Kubernetes control plane on loopback.
// Test code imports these; product code never does.
export { LOOPBACK, canConnect, freePort, freePorts, isAddressInUse, retry, withFreePort } from './ports.js';
export type { RetryOptions } from './ports.js';
export {
  HarnessError,
  LogRing,
  ManagedProcess,
  harnessPids,
  registerTempDir,
  removeTempDir,
  pollUntil,
  spawnProcess,
  waitUntil,
} from './process.js';
export type { ExitStatus, SpawnOptions, WaitOptions } from './process.js';
export { redisPing, startRedis } from './redis.js';
export type { RedisInstance, RedisOptions } from './redis.js';
export { findPostgresBinDir, startPostgres } from './postgres.js';
export type { PostgresInstance, PostgresOptions } from './postgres.js';
export {
  ControlPlaneBinariesMissingError,
  DEFAULT_KUBERNETES_VERSION,
  HARNESS_FIELD_MANAGER,
  controlPlaneBinariesAvailable,
  defaultAssetsDir,
  findControlPlaneBinaries,
  parseDuration,
  startControlPlane,
} from './control-plane.js';
export type {
  ControlPlane,
  ControlPlaneBinaries,
  ControlPlaneOptions,
  ServiceAccountTokenOptions,
} from './control-plane.js';
export { atlasResourceOf, createApiKeyIdentity, referenceAtlas, referenceAtlasResource } from './cra-resources.js';

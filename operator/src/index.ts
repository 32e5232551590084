// Public surface of @cra/operator.
export { Operator } from './operator.js';
export type { OperatorOptions } from './operator.js';
export { loadOperatorConfig, OperatorConfigError } from './config.js';
export type { OperatorConfig, RuntimeWorkloadConfig } from './config.js';
export { translate, KINDS, REASONS } from './compile/gather.js';
export type { ClusterState, Verdict, Translation } from './compile/gather.js';
export { runtimeObjects, configHash } from './workload/runtime-objects.js';
export { main } from './main.js';
export { RBAC_RULES, policyRules } from './rbac.js';
export type { RbacRule } from './rbac.js';

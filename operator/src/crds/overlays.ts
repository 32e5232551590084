/**
 * What the CRDs add to core's spec schemas (see `structural.ts`): CEL rules for the cross-field
 * constraints a structural schema cannot say, map-lists that make ids unique (and let server-side
 * apply merge list entries by id), and descriptions for `kubectl explain`.
 *
 * Every rule mirrors a check core already makes (atlas/validate.ts, policy/validate.ts), so the
 * apiserver rejects early what the operator would otherwise report as `Ready=False`; the one
 * exception is `auth: {}` on an AgentIdentity, which core tolerates (it means no credentials).
 *
 * CEL cost: each rule's estimated cost is bounded because every list and string it reads has
 * `maxItems`/`maxLength` in core's schema (domains ≤ 64, packs and actions ≤ 256, ids ≤ 63
 * characters). Rules never read free-form (`x-kubernetes-preserve-unknown-fields`) values, which
 * CEL cannot see when they have no type, nor map keys, whose size the apiserver cannot bound. crds-apiserver.test.ts installs the CRDs into a
 * real apiserver, which refuses a CRD whose estimated cost exceeds the budget.
 */
import type { CelRule, SchemaOverlay } from './structural.js';

const SEMVER =
  '^(0|[1-9][0-9]*)[.](0|[1-9][0-9]*)[.](0|[1-9][0-9]*)' +
  '(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)([.](0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?' +
  '([+][0-9a-zA-Z-]+([.][0-9a-zA-Z-]+)*)?$';

/**
 * Every `item.domain` of `list` names one of `spec.domains` (on the Atlas spec). No
 * messageExpression naming the culprit: any expression that iterates the lists (even the size of
 * a filter) is estimated far over the budget as a messageExpression, though it fits as a rule.
 */
function domainReferenceRule(list: 'contextPacks' | 'actions', what: string): CelRule {
  return {
    rule: `!has(self.${list}) || !has(self.domains) || self.${list}.all(x, self.domains.exists(d, d.id == x.domain))`,
    message: `every ${what} must name a domain declared in spec.domains`,
    fieldPath: `.${list}`,
    reason: 'FieldValueInvalid',
  };
}

/** Policy rules, in an Atlas (`spec.policies`) and in a Policy (`spec.rules`). */
const policyRuleRules: CelRule[] = [
  {
    rule: "!(self.effect in ['allow', 'deny']) || !has(self.params)",
    message: 'params is not used by allow and deny rules',
    fieldPath: '.params',
    reason: 'FieldValueForbidden',
  },
  {
    rule: "!(self.effect in ['rate_limit', 'constrain', 'redact']) || has(self.params)",
    message: 'params is required for effects rate_limit, constrain and redact',
    messageExpression: "'params is required for effect ' + self.effect",
    fieldPath: '.params',
    reason: 'FieldValueRequired',
  },
];

const uniqueBy = (key: string): Pick<SchemaOverlay, 'x-kubernetes-list-type' | 'x-kubernetes-list-map-keys'> => ({
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': [key],
});

export const atlasSpecOverlays: SchemaOverlay[] = [
  {
    path: '',
    description:
      'A versioned package of domain knowledge: domains with risk tiers, context packs, actions, ' +
      'the policies that govern them and tool names per platform.',
    'x-kubernetes-validations': [
      domainReferenceRule('contextPacks', 'context pack'),
      domainReferenceRule('actions', 'action'),
    ],
  },
  {
    path: '/properties/version',
    description: 'SemVer 2.0 version; the atlas reference is <namespace>/<name>@<version>.',
    'x-kubernetes-validations': [
      {
        rule: `self.matches('${SEMVER}')`,
        message: 'must be a SemVer 2.0 version such as 1.2.3',
        reason: 'FieldValueInvalid',
      },
    ],
  },
  {
    path: '/properties/license/properties/terms',
    description: 'Who may use the atlas; omit to allow everyone.',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.namespaces) || has(self.agents)',
        message: 'must list namespaces or agents (omit terms to allow everyone)',
        reason: 'FieldValueRequired',
      },
    ],
  },
  { path: '/properties/domains', description: 'Domains, unique by id.', ...uniqueBy('id') },
  {
    path: '/properties/contextPacks',
    description: 'Context packs, unique by id; content inline or in a ConfigMap (configMapRef).',
    ...uniqueBy('id'),
  },
  {
    path: '/properties/contextPacks/items',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.content) || has(self.configMapRef)',
        message:
          'must set content or configMapRef (file is only for the local directory format: convert with cra atlas publish)',
        reason: 'FieldValueRequired',
      },
      {
        rule: '!has(self.content) || !has(self.configMapRef)',
        message: 'content and configMapRef are mutually exclusive',
        fieldPath: '.configMapRef',
        reason: 'FieldValueForbidden',
      },
    ],
  },
  { path: '/properties/actions', description: 'Actions, unique by id.', ...uniqueBy('id') },
  {
    path: '/properties/actions/items/properties/executor',
    // url and baseUrl are string-or-object unions (type-less, preserve-unknown nodes): CEL cannot
    // see them, so "http needs url", "mcp needs url" and "mcp has no baseUrl" stay core's checks.
    'x-kubernetes-validations': [
      {
        rule: "self.type != 'http' || has(self.method)",
        message: 'http executors need method',
        fieldPath: '.method',
        reason: 'FieldValueRequired',
      },
      {
        rule: "self.type != 'http' || !has(self.tool)",
        message: 'tool is only used by mcp executors',
        fieldPath: '.tool',
        reason: 'FieldValueForbidden',
      },
      {
        rule: "self.type != 'mcp' || has(self.tool)",
        message: 'mcp executors need tool',
        fieldPath: '.tool',
        reason: 'FieldValueRequired',
      },
      {
        rule: "self.type != 'mcp' || !(has(self.method) || has(self.body) || has(self.response))",
        message: 'method, body and response are only used by http executors',
        reason: 'FieldValueForbidden',
      },
    ],
  },
  { path: '/properties/policies', description: 'Policy rules (CRA-SPEC §4), unique by id.', ...uniqueBy('id') },
  { path: '/properties/policies/items', 'x-kubernetes-validations': policyRuleRules },
  { path: '/properties/toolMappings', description: 'Stable tool names per platform, keyed by action id.' },
  {
    path: '/properties/dependencies',
    description: 'Atlases this one needs, unique by atlas.',
    ...uniqueBy('atlas'),
  },
];

export const policySpecOverlays: SchemaOverlay[] = [
  {
    path: '',
    description:
      'Rules applied on top of atlases, with rate limits, redaction and approval settings, for the ' +
      'atlases and agents the selector picks.',
  },
  { path: '/properties/selector', description: 'Which atlases and agents the policy applies to; omit for all.' },
  { path: '/properties/rules', description: 'Policy rules (CRA-SPEC §4), unique by id.', ...uniqueBy('id') },
  { path: '/properties/rules/items', 'x-kubernetes-validations': policyRuleRules },
  { path: '/properties/rateLimits', description: 'Rate limits that always apply to the selected atlases/agents.' },
  {
    path: '/properties/redaction/properties/rules/items',
    'x-kubernetes-validations': [
      {
        rule: "self.mode in ['partial', 'mask'] || (!has(self.showChars) && !has(self.showPosition))",
        message: 'showChars and showPosition are only used by the partial and mask modes',
        messageExpression:
          "'showChars and showPosition are only used by the partial and mask modes (mode is ' + self.mode + ')'",
        reason: 'FieldValueForbidden',
      },
    ],
  },
];

export const agentIdentitySpecOverlays: SchemaOverlay[] = [
  {
    path: '',
    description:
      'One agent: its id, labels and roles, how it authenticates, which atlases it may use and its limits.',
  },
  { path: '/properties/agentId', description: 'The agent id requests must carry (requester.agent_id).' },
  { path: '/properties/roles', description: 'Roles, each at most once.', 'x-kubernetes-list-type': 'set' },
  {
    path: '/properties/auth',
    description:
      'Credentials: an API-key digest Secret and/or a JWT issuer and subject. Omit for an identity that never ' +
      'authenticates (its roles and limits then apply only under the runtime setting auth.mode insecure-none).',
    'x-kubernetes-validations': [
      {
        rule: 'has(self.apiKeySecretRef) || has(self.jwt)',
        message: 'must set apiKeySecretRef, jwt or both (omit auth for an identity that cannot authenticate)',
        reason: 'FieldValueRequired',
      },
    ],
  },
  { path: '/properties/atlasSelector', description: 'The atlases this agent may use; omit for all.' },
  { path: '/properties/maxRiskTier', description: 'The highest risk tier this agent may be granted.' },
  { path: '/properties/rateLimit', description: "Overrides the runtime's per-agent API request limit." },
];

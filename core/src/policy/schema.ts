/**
 * JSON Schemas (structural subset, see `structural-schema.ts`) of policy rules and redaction
 * rules. Conditions (`when`) and effect parameters (`params`) are recursive or effect-dependent,
 * so the schema keeps them free-form and `validate.ts` checks them in code.
 */
import { RATE_LIMIT_SCOPES } from '../carp/types.js';
import { freeObject, resourceId, str } from '../structural-schema.js';
import { EFFECTS, REDACTION_MODES } from './types.js';

export const MAX_RULES = 256;
export const PRIORITY_BOUND = 1_000_000;

export const policyRuleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'effect'],
  properties: {
    id: resourceId(),
    description: str(1024),
    when: freeObject(),
    effect: { type: 'string', enum: [...EFFECTS] },
    priority: { type: 'integer', minimum: -PRIORITY_BOUND, maximum: PRIORITY_BOUND },
    message: str(1024),
    params: freeObject(),
    target: { type: 'string', enum: ['action', 'request'] },
  },
} as const;

export const policyRulesSchema = { type: 'array', maxItems: MAX_RULES, items: policyRuleSchema } as const;

export const redactionRuleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'mode'],
  properties: {
    id: resourceId(),
    path: { type: 'string', minLength: 1, maxLength: 256 },
    mode: { type: 'string', enum: [...REDACTION_MODES] },
    showChars: { type: 'integer', minimum: 0, maximum: 64 },
    showPosition: { type: 'string', enum: ['start', 'end'] },
  },
} as const;

export const rateLimitSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['requests', 'windowSeconds'],
  properties: {
    requests: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
    windowSeconds: { type: 'integer', minimum: 1, maximum: 31_536_000 },
    scope: { type: 'string', enum: [...RATE_LIMIT_SCOPES] },
  },
} as const;

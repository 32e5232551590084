import { createAjv, toViolations } from '../validation.js';
import { carpRequestSchema } from './schemas.js';
import type { CARPRequest, Operation, Violation } from './types.js';

const ajv = createAjv();
const validateRequestSchema = ajv.compile(carpRequestSchema);

/**
 * Validates a CARP request body. With `expected`, the request's operation must be that one (the
 * HTTP route fixes it). Returns every violation, each naming its member by JSON Pointer.
 */
export function validateCarpRequest(body: unknown, expected?: Operation | readonly Operation[]): Violation[] {
  if (!validateRequestSchema(body)) return toViolations(validateRequestSchema.errors);
  const request = body as CARPRequest;
  const allowed = expected === undefined ? undefined : typeof expected === 'string' ? [expected] : expected;
  if (allowed && !allowed.includes(request.operation)) {
    return [
      {
        code: 'INVALID_REQUEST',
        path: '/operation',
        message: `must be ${allowed.map((o) => `"${o}"`).join(' or ')} on this endpoint`,
      },
    ];
  }
  return [];
}

export function isCarpRequest(body: unknown): body is CARPRequest {
  return validateRequestSchema(body);
}

import { createRedactor, type RedactionRule, type Redactor } from '@cra/core';
import type { PayloadRedactor } from '../../runtime/dist/domain/tracer.js';

/** The runtime's payload redactor (runtime.ts), rebuilt here: it is not exported. */
export function payloadRedactor(hmacKey: string): PayloadRedactor {
  const base = createRedactor({ hmacKey });
  const byRules = new Map<string, Redactor>();
  return (payload, rules: readonly RedactionRule[]) => {
    let redactor = base;
    if (rules.length > 0) {
      const key = JSON.stringify(rules);
      redactor = byRules.get(key) ?? createRedactor({ hmacKey, rules });
      byRules.set(key, redactor);
    }
    const { value, redactions } = redactor.redact(payload, 'payload');
    return { payload: value, redactions };
  };
}

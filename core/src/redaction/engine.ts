/**
 * The redaction engine (CRA-SPEC §6.5). It runs before hashing and storage: the runtime
 * redacts an event's payload, then seals it onto the chain, so hashes cover what is stored.
 *
 * For each value, in order:
 * 1. a policy `redact` rule whose path matches (the strictest mode wins when several match:
 *    remove > full > mask > hash > partial; ties go to the first rule);
 * 2. a sensitive key name (case-insensitive, `_`/`-` ignored so `apiKey` = `api_key`) → `[REDACTED]`;
 * 3. strings: the enabled detectors, in one combined scan;
 * 4. arrays and objects: recurse. Other values stay as they are.
 * The walk is top-down: a value replaced by 1 or 2 is not descended into, so a rule on a
 * container wins over rules on its members. Detectors scan strings only, never numbers or keys.
 *
 * Pure: the input is never mutated; every container on the way is rebuilt. Each redaction is
 * recorded as {rule, path, mode} — which rule fired where, never the secret.
 */
import { CraError } from '../errors.js';
import { hmacSha256Hex } from '../hash.js';
import { REDACTION_MODES, type RedactionMode, type RedactionRule } from '../policy/types.js';
import { canonicalJson } from '../trace/canonical.js';
import { DETECTOR_NAMES, REDACTED_MARKER, compileScanner, isDetectorName, type DetectorName } from './detectors.js';
import { compilePathPattern, formatPath, type PathMatcher } from './paths.js';

export interface RedactorConfig {
  /** Built-in detectors to run on strings (default: all of `DETECTOR_NAMES`; `[]` = none). */
  detectors?: readonly string[];
  /** Policy `redact` rules (paths relative to `basePath`'s root, e.g. `payload.parameters.email`). */
  rules?: readonly RedactionRule[];
  /** Secret key for `hash` mode (HMAC-SHA-256). Required as soon as one rule uses `hash`. */
  hmacKey?: string;
  /**
   * Key names whose values are always fully redacted (default `DEFAULT_SENSITIVE_KEYS`; `[]` =
   * none). Matching ignores case, `_` and `-`; a leading `*` matches by suffix
   * (`*password` covers `db_password` and `adminPassword`).
   */
  sensitiveKeys?: readonly string[];
}

export interface RedactionRecord {
  /** A rule's `id` (or `path:<pattern>` without one), a detector name, or `sensitive_key`. */
  rule: string;
  /** Dotted path of the redacted value, array indices as segments: `payload.to.0`. */
  path: string;
  /** The rule's mode; `pattern` for detector matches inside a string. */
  mode: RedactionMode | 'pattern';
}

export interface RedactionResult<T> {
  /** A new value of the same shape; redacted leaves become marker strings or disappear. */
  value: T;
  redactions: RedactionRecord[];
}

export interface Redactor {
  redact<T>(value: T, basePath?: string): RedactionResult<T>;
  /** Detectors only, for free text such as log lines. */
  redactText(text: string): string;
}

export const SENSITIVE_KEY_RULE = 'sensitive_key';

export const DEFAULT_SENSITIVE_KEYS: readonly string[] = [
  '*password',
  '*passwd',
  '*secret',
  '*token',
  '*api_key',
  'authorization',
  'cookie',
  'set_cookie',
  '*private_key',
  'client_secret',
  'access_token',
  'refresh_token',
  'ssn',
  'credit_card',
  'card_number',
  'cvv',
  'pin',
];

/** Higher is stricter. */
const STRICTNESS: Readonly<Record<RedactionMode, number>> = { remove: 5, full: 4, mask: 3, hash: 2, partial: 1 };
const MAX_MASK = 20;
const MAX_DEPTH = 200;
const KEY_CACHE_LIMIT = 2048;
const REMOVE = Symbol('remove');

interface CompiledRule {
  name: string;
  rule: RedactionRule;
  matches: PathMatcher;
}

export function createRedactor(config: RedactorConfig = {}): Redactor {
  const scanner = compileScanner(validateDetectors(config.detectors));
  const rules = compileRules(config.rules ?? [], config.hmacKey);
  const isSensitiveKey = sensitiveKeyMatcher(config.sensitiveKeys ?? DEFAULT_SENSITIVE_KEYS);
  const hmacKey = config.hmacKey ?? '';

  function visit(value: unknown, path: string[], key: string | undefined, out: RedactionRecord[]): unknown {
    const rule = rules.length > 0 ? rules.find((r) => r.matches(path)) : undefined;
    if (rule !== undefined) {
      // A rule never turns an absent or null value into a marker (nothing to hide).
      if (rule.rule.mode !== 'remove' && (value === null || value === undefined)) return value;
      out.push({ rule: rule.name, path: formatPath(path), mode: rule.rule.mode });
      return applyMode(rule.rule, value, hmacKey);
    }
    if (key !== undefined && hidesSecret(value) && isSensitiveKey(key)) {
      if (value === REDACTED_MARKER) return value;
      out.push({ rule: SENSITIVE_KEY_RULE, path: formatPath(path), mode: 'full' });
      return REDACTED_MARKER;
    }
    if (typeof value === 'string') return scanString(value, path, out);
    if (typeof value !== 'object' || value === null || path.length > MAX_DEPTH) return value;
    if (Array.isArray(value)) return visitArray(value, path, out);
    return visitObject(value as Record<string, unknown>, path, out);
  }

  function scanString(value: string, path: string[], out: RedactionRecord[]): string {
    if (scanner === undefined || value.length < scanner.minLength) return value;
    const result = scanner.scan(value);
    if (result === undefined) return value;
    const where = formatPath(path);
    for (const name of result.fired) out.push({ rule: name, path: where, mode: 'pattern' });
    return result.text;
  }

  function visitArray(value: readonly unknown[], path: string[], out: RedactionRecord[]): unknown[] {
    const copy: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      path.push(String(i));
      const item = visit(value[i], path, undefined, out);
      path.pop();
      if (item !== REMOVE) copy.push(item);
    }
    return copy;
  }

  function visitObject(
    value: Record<string, unknown>,
    path: string[],
    out: RedactionRecord[],
  ): Record<string, unknown> {
    const copy: Record<string, unknown> = {};
    for (const k of Object.keys(value)) {
      path.push(k);
      const item = visit(value[k], path, k, out);
      path.pop();
      if (item === REMOVE) continue;
      if (k === '__proto__') {
        Object.defineProperty(copy, k, { value: item, enumerable: true, writable: true, configurable: true });
      } else {
        copy[k] = item;
      }
    }
    return copy;
  }

  return {
    redact<T>(value: T, basePath?: string): RedactionResult<T> {
      const path = basePath === undefined || basePath === '' ? [] : basePath.split('.');
      const redactions: RedactionRecord[] = [];
      const result = visit(value, path, undefined, redactions);
      return { value: (result === REMOVE ? undefined : result) as T, redactions };
    },
    redactText(text: string): string {
      return scanner?.scan(text)?.text ?? text;
    },
  };
}

/** null, undefined and booleans carry nothing a sensitive key could leak. */
function hidesSecret(value: unknown): boolean {
  return value !== null && value !== undefined && typeof value !== 'boolean';
}

function applyMode(rule: RedactionRule, value: unknown, hmacKey: string): unknown {
  if (rule.mode === 'remove') return REMOVE;
  if (rule.mode === 'full') return REDACTED_MARKER;
  if (rule.mode === 'hash') {
    // Containers hash by their canonical JSON, so equal values give equal hashes.
    const text = typeof value === 'string' ? value : canonicalJson(value);
    return `[HASH:${hmacSha256Hex(hmacKey, text)}]`;
  }
  // mask and partial work on text: scalars by their JSON text, containers fall back to full.
  if (typeof value === 'object') return REDACTED_MARKER;
  const text = String(value);
  return rule.mode === 'mask'
    ? '*'.repeat(Math.min(Array.from(text).length, MAX_MASK))
    : partial(text, rule.showChars ?? 4, rule.showPosition ?? 'end');
}

function partial(text: string, show: number, position: 'start' | 'end'): string {
  const chars = Array.from(text);
  if (chars.length <= show) return '*'.repeat(chars.length);
  const hidden = '*'.repeat(chars.length - show);
  return position === 'start'
    ? chars.slice(0, show).join('') + hidden
    : hidden + chars.slice(-show || chars.length).join('');
}

function validateDetectors(names: readonly string[] | undefined): DetectorName[] {
  if (names === undefined) return [...DETECTOR_NAMES];
  return names.map((name, i) => {
    if (!isDetectorName(name)) {
      throw invalidConfig(`/detectors/${i}`, `unknown detector "${name}" (known: ${DETECTOR_NAMES.join(', ')})`);
    }
    return name;
  });
}

function compileRules(rules: readonly RedactionRule[], hmacKey: string | undefined): CompiledRule[] {
  const compiled = rules.map((rule, i): CompiledRule => {
    const at = `/rules/${i}`;
    const name = rule.id ?? `path:${rule.path}`;
    if (!(REDACTION_MODES as readonly string[]).includes(rule.mode)) {
      throw invalidConfig(`${at}/mode`, `unknown mode "${String(rule.mode)}" (known: ${REDACTION_MODES.join(', ')})`);
    }
    if (rule.mode === 'hash' && (hmacKey === undefined || hmacKey === '')) {
      throw invalidConfig(
        `${at}/mode`,
        `redaction rule "${name}" uses mode "hash", which needs an HMAC key (hmacKey), and none is configured`,
        { rule: name },
      );
    }
    if (rule.showChars !== undefined && !(Number.isInteger(rule.showChars) && rule.showChars >= 0)) {
      throw invalidConfig(`${at}/showChars`, 'showChars must be a non-negative integer');
    }
    if (rule.showPosition !== undefined && rule.showPosition !== 'start' && rule.showPosition !== 'end') {
      throw invalidConfig(`${at}/showPosition`, 'showPosition must be "start" or "end"');
    }
    return { name, rule, matches: compilePathPattern(rule.path, `${at}/path`) };
  });
  // Stable sort: the strictest matching rule is found first; equal modes keep their order.
  return compiled.sort((a, b) => STRICTNESS[b.rule.mode] - STRICTNESS[a.rule.mode]);
}

function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

function sensitiveKeyMatcher(entries: readonly string[]): (key: string) => boolean {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith('*')) suffixes.push(normalizeKey(entry.slice(1)));
    else exact.add(normalizeKey(entry));
  }
  if (exact.size === 0 && suffixes.length === 0) return () => false;
  const cache = new Map<string, boolean>();
  return (key) => {
    let hit = cache.get(key);
    if (hit === undefined) {
      const k = normalizeKey(key);
      hit = exact.has(k) || suffixes.some((s) => k.endsWith(s));
      if (cache.size >= KEY_CACHE_LIMIT) cache.clear();
      cache.set(key, hit);
    }
    return hit;
  };
}

function invalidConfig(pointer: string, message: string, extra: Record<string, unknown> = {}): CraError {
  return new CraError('INVALID_REQUEST', `redaction config ${pointer}: ${message}`, {
    details: { ...extra, violations: [{ path: pointer, message }] },
  });
}

/**
 * Builds the request of an `http` executor from the action's parameters: the URL (template,
 * base URL, query string) and the JSON body.
 *
 * Decisions:
 * - `{name}` placeholders take the parameter's String form, percent-encoded with
 *   encodeURIComponent (`a/b` → `a%2Fb`); a missing (absent or null) or non-scalar parameter is a
 *   CONSTRAINT_VIOLATED naming it by JSON Pointer. Empty, `.` and `..` values are refused too:
 *   URL parsing would collapse them and send the request to a different path.
 * - A `url` with a scheme is absolute and ignores `baseUrl`; otherwise base and path are joined with
 *   exactly one `/`. Only http: and https: URLs are called.
 * - Body mode `remaining` (default) carries the parameters the URL did not use, `parameters` all
 *   of them, `none` nothing. GET never carries a body: with `remaining` or `parameters` the chosen
 *   parameters go to the query string. DELETE with `remaining` does the same; DELETE with
 *   `parameters` sends a JSON body. In a query string null values are left out, arrays repeat
 *   their key, and objects are sent as JSON text.
 * - POST, PUT and PATCH (and DELETE with `parameters`) always send a JSON object body, `{}` when
 *   nothing remains, with `content-type: application/json`.
 */
import { CraError, type HttpExecutor, type Violation } from '@cra/core';
import type { ValueResolver } from './values.js';

export interface HttpRequestPlan {
  url: URL;
  /** JSON text, or undefined for no body. */
  body: string | undefined;
}

const PLACEHOLDER = /\{([^{}]+)\}/g;
const HAS_SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;
const ALLOWED_PROTOCOLS = new Set(['http:', 'https:']);

export async function planHttpRequest(
  config: HttpExecutor,
  parameters: Record<string, unknown>,
  values: ValueResolver,
  actionId: string,
): Promise<HttpRequestPlan> {
  const { path, consumed } = fillTemplate(config.url, parameters, actionId);
  const url = await joinUrl(config, path, values, actionId);

  const mode = config.body ?? 'remaining';
  if (mode === 'none') return { url, body: undefined };
  const chosen = mode === 'parameters' ? parameters : omit(parameters, consumed);
  const toQuery = config.method === 'GET' || (config.method === 'DELETE' && mode === 'remaining');
  if (toQuery) {
    appendQuery(url, chosen);
    return { url, body: undefined };
  }
  return { url, body: JSON.stringify(chosen) };
}

/** The URL as it may appear in errors, traces and side effects: no credentials, query or fragment. */
export function publicUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

function fillTemplate(
  template: string,
  parameters: Record<string, unknown>,
  actionId: string,
): { path: string; consumed: Set<string> } {
  const consumed = new Set<string>();
  const violations: Violation[] = [];
  const path = template.replace(PLACEHOLDER, (_match, name: string) => {
    consumed.add(name);
    const value = Object.hasOwn(parameters, name) ? parameters[name] : undefined;
    if (value === undefined || value === null) {
      violations.push({ code: 'CONSTRAINT_VIOLATED', path: pointerTo(name), message: 'is required by the URL' });
      return '';
    }
    if (typeof value === 'object' || typeof value === 'function' || typeof value === 'symbol') {
      violations.push({
        code: 'CONSTRAINT_VIOLATED',
        path: pointerTo(name),
        message: 'must be a string, number or boolean to fill the URL',
      });
      return '';
    }
    const text = String(value);
    if (text === '.' || text === '..' || text === '') {
      // `new URL()` would collapse a dot segment and move the request to another path.
      violations.push({
        code: 'CONSTRAINT_VIOLATED',
        path: pointerTo(name),
        message: 'must not be empty, "." or ".." (it would change the URL path)',
      });
      return '';
    }
    return encodeURIComponent(text);
  });
  if (violations.length > 0) {
    const unique = violations.filter((v, i) => violations.findIndex((w) => w.path === v.path) === i);
    const described = unique.map((v) => `${pointerName(v.path)} ${v.message}`).join('; ');
    throw new CraError('CONSTRAINT_VIOLATED', `action ${actionId}: parameter ${described}`, {
      details: { violations: unique },
    });
  }
  return { path, consumed };
}

async function joinUrl(config: HttpExecutor, path: string, values: ValueResolver, actionId: string): Promise<URL> {
  let href: string;
  if (HAS_SCHEME.test(path)) {
    href = path;
  } else if (config.baseUrl === undefined) {
    throw configError(actionId, `url "${config.url}" is relative and no baseUrl is set`);
  } else {
    const base = await values.resolve(config.baseUrl, `baseUrl of action ${actionId}`);
    href = `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
  }
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    // The href may carry a resolved secret (a base URL from a Secret): name the template only.
    throw configError(actionId, `url "${config.url}" does not make a valid URL`);
  }
  if (!ALLOWED_PROTOCOLS.has(url.protocol)) {
    throw configError(actionId, `url scheme ${url.protocol} is not allowed (only http: and https:)`);
  }
  return url;
}

function appendQuery(url: URL, parameters: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(parameters)) {
    const items = Array.isArray(value) ? (value as unknown[]) : [value];
    for (const item of items) {
      if (item === undefined || item === null) continue;
      url.searchParams.append(key, queryValue(item));
    }
  }
}

function queryValue(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function omit(parameters: Record<string, unknown>, keys: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(parameters).filter(([key]) => !keys.has(key)));
}

function pointerTo(name: string): string {
  return `/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function pointerName(pointer: string): string {
  return pointer.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
}

function configError(actionId: string, message: string): CraError {
  return new CraError('EXECUTION_FAILED', `action ${actionId}: ${message}`, { retriable: false });
}

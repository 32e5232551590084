/**
 * Request bodies for the HTTP benchmarks: resolves of the request mix (optionally with unique
 * goals, so every request is planned) and executes of a granted low-risk action.
 */
import { randomIds, type CARPResolution } from '@cra/core';
import { Agent, request as httpRequest } from 'undici';
import { ADMIN_KEY, AGENT_ID, AGENT_KEY, REQUEST_MIX, resolveRequest } from './fixtures.js';
import type { LoadTarget } from './http-load.js';

export const agentHeaders = { authorization: `Bearer ${AGENT_KEY}`, 'content-type': 'application/json' };

/** Bodies for the mix; `unique` makes every goal (hence every cache key) different. */
export function resolveTarget(origin: string, options: { unique: boolean; tag: string; sessions: number }): LoadTarget {
  const sessions = Array.from({ length: options.sessions }, () => randomIds.uuid());
  let seq = 0;
  return {
    origin,
    path: '/v1/resolve',
    headers: agentHeaders,
    request(worker) {
      const n = seq++;
      const which = n % REQUEST_MIX.length;
      const body = resolveRequest(REQUEST_MIX[which]!, {
        sessionId: sessions[worker % sessions.length]!,
        ...(options.unique ? { goalSuffix: `(ref ${options.tag}-${n})` } : {}),
      });
      return { body: JSON.stringify(body), headers: { 'x-bench-case': String(which) } };
    },
  };
}

export async function stats(
  origin: string,
): Promise<{ cache_hits: number; cache_misses: number; resolutions_total: number }> {
  const dispatcher = new Agent();
  try {
    const res = await httpRequest(`${origin}/v1/stats`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
      dispatcher,
    });
    return (await res.body.json()) as { cache_hits: number; cache_misses: number; resolutions_total: number };
  } finally {
    await dispatcher.close();
  }
}

/** The low-risk action the execute benchmarks run (its executor POSTs to the GitHub API stand-in). */
export const EXECUTE_ACTION = 'api.github.create_issue';
const EXECUTE_PARAMETERS = {
  owner: 'acme',
  repo: 'mobile-app',
  title: 'Bug: login button does nothing on Android 14',
  body: 'Tapping "Log in" on Android 14 does nothing; no request reaches the API.',
  labels: ['bug', 'mobile'],
};

async function post<T>(origin: string, path: string, body: unknown, dispatcher: Agent): Promise<T> {
  const res = await httpRequest(`${origin}${path}`, {
    method: 'POST',
    headers: agentHeaders,
    body: JSON.stringify(body),
    dispatcher,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`POST ${path}: HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** One resolution granting EXECUTE_ACTION per session (each in its own new session). */
export async function executeGrants(origin: string, sessions: number): Promise<CARPResolution[]> {
  const dispatcher = new Agent();
  try {
    const out: CARPResolution[] = [];
    for (let i = 0; i < sessions; i++) {
      const body = resolveRequest(
        { id: 'exec', risk: 'low', goal: 'Open an issue about the login crash', hints: ['github.issues'] },
        { sessionId: randomIds.uuid() },
      );
      const resolution = await post<CARPResolution>(origin, '/v1/resolve', body, dispatcher);
      if (!resolution.allowed_actions.some((g) => g.action_type === EXECUTE_ACTION)) {
        throw new Error(`the resolution grants no ${EXECUTE_ACTION}`);
      }
      out.push(resolution);
    }
    return out;
  } finally {
    await dispatcher.close();
  }
}

function executeBody(resolution: CARPResolution): Record<string, unknown> {
  const grant = resolution.allowed_actions.find((g) => g.action_type === EXECUTE_ACTION)!;
  return {
    carp_version: '1.0',
    request_id: randomIds.uuid(),
    timestamp: new Date().toISOString(),
    operation: 'execute',
    requester: { agent_id: AGENT_ID, session_id: resolution.session_id },
    action: {
      action_id: grant.action_id,
      action_type: EXECUTE_ACTION,
      parameters: EXECUTE_PARAMETERS,
      resolution_id: resolution.resolution_id,
    },
  };
}

/** One execute, to check the setup and to give the bare server the same answer to send. */
export async function executeOnce(origin: string, resolution: CARPResolution): Promise<unknown> {
  const dispatcher = new Agent();
  try {
    const result = await post<{ status: string }>(origin, '/v1/execute', executeBody(resolution), dispatcher);
    if (result.status !== 'success') throw new Error(`execute answered ${JSON.stringify(result).slice(0, 300)}`);
    return result;
  } finally {
    await dispatcher.close();
  }
}

/** Executes of EXECUTE_ACTION, worker w using the grant of resolution w (mod their number). */
export function executeTarget(origin: string, resolutions: readonly CARPResolution[]): LoadTarget {
  return {
    origin,
    path: '/v1/execute',
    headers: agentHeaders,
    request(worker) {
      return { body: JSON.stringify(executeBody(resolutions[worker % resolutions.length]!)) };
    },
  };
}

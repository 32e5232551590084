/**
 * The MCP server of one caller and session: a low-level SDK `Server` whose handlers answer from
 * the one decision engine. Tools are JSON Schema (atlas schemas as they are), so it uses
 * `setRequestHandler` for tools, resources and prompts rather than the zod-based `McpServer`.
 * The same factory serves every transport: per request (stateless Streamable HTTP), per session
 * (stateful Streamable HTTP) and per process (stdio).
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type ServerNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { RISK_TIERS } from '@cra/core';
import { VERSION } from '../version.js';
import { ToolCalls, type CallDeps } from './calls.js';
import { protocolError, RESOURCE_NOT_FOUND } from './errors.js';
import { atlasPrompt, promptAtlases, promptMessages } from './prompts.js';
import { blockResources, findBlock, MIME_TYPES } from './resources.js';
import type { McpSession, Notify } from './session.js';
import { grantTables } from './tools.js';

export const SERVER_INFO = { name: 'cra', title: 'CRA', version: VERSION } as const;

export const INSTRUCTIONS =
  'CRA governs what you may see and do. Call cra_resolve with your goal first: the actions it grants become ' +
  'tools of this session and its context blocks become resources. Every call is checked against policy and ' +
  'recorded in an audit trail; a refused call returns an error naming why. Actions that need approval return ' +
  'status "pending_approval" and run only after a human approves them.';

export type McpServerDeps = CallDeps;

const LIST_CHANGED: Record<Parameters<Notify>[0], ServerNotification['method']> = {
  tools: 'notifications/tools/list_changed',
  resources: 'notifications/resources/list_changed',
  prompts: 'notifications/prompts/list_changed',
};

/** Notifications sent by `send` (the request's stream, or the server's own channel). */
export function notifier(send: (notification: ServerNotification) => Promise<void>): Notify {
  return (kind) => send({ method: LIST_CHANGED[kind] } as ServerNotification);
}

export function createMcpServer(deps: McpServerDeps, session: McpSession): Server {
  const server = new Server(SERVER_INFO, {
    capabilities: {
      tools: { listChanged: true },
      resources: { listChanged: true },
      prompts: { listChanged: true },
    },
    instructions: INSTRUCTIONS,
  });
  const calls = new ToolCalls(deps, session);
  const guard = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw protocolError(err, deps.log);
    }
  };

  server.setRequestHandler(ListToolsRequestSchema, () =>
    guard(async () => {
      const current = await session.current();
      // What a long-lived client sees now is what later changes are compared with.
      if (session.longLived) session.announced = session.digests(current);
      return { tools: current.tools };
    }),
  );

  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    calls.call({
      name: request.params.name,
      arguments: request.params.arguments ?? {},
      callId: String(extra.requestId),
      meta: request.params._meta as Record<string, unknown> | undefined,
      notify: notifier((n) => extra.sendNotification(n)),
    }),
  );

  server.setRequestHandler(ListResourcesRequestSchema, () =>
    guard(async () => {
      const { live } = await session.current();
      return { resources: live ? blockResources(live) : [] };
    }),
  );

  server.setRequestHandler(ReadResourceRequestSchema, (request) =>
    guard(async () => {
      const { uri } = request.params;
      const { live } = await session.current();
      const block = live ? findBlock(live, uri) : undefined;
      if (!block) {
        throw new McpError(
          RESOURCE_NOT_FOUND,
          `Resource not found: ${uri} is no context block of the current resolution`,
          {
            uri,
          },
        );
      }
      return { contents: [{ uri, mimeType: MIME_TYPES[block.content_type], text: block.content }] };
    }),
  );

  server.setRequestHandler(ListPromptsRequestSchema, () =>
    guard(async () => ({
      prompts: [...promptAtlases(session.index, session.principal)].map(([name, atlas]) => atlasPrompt(name, atlas)),
    })),
  );

  server.setRequestHandler(GetPromptRequestSchema, (request, extra) =>
    guard(async () => {
      const { name, arguments: args = {} } = request.params;
      const atlas = promptAtlases(session.index, session.principal).get(name);
      if (!atlas) throw new McpError(ErrorCode.InvalidParams, `unknown prompt: ${name}`);
      const goal = args.goal?.trim();
      if (!goal) throw new McpError(ErrorCode.InvalidParams, 'argument goal is required');
      const risk = args.risk_tier;
      if (risk !== undefined && !(RISK_TIERS as readonly string[]).includes(risk)) {
        throw new McpError(ErrorCode.InvalidParams, `argument risk_tier must be one of ${RISK_TIERS.join(', ')}`);
      }
      const resolution = await calls.runResolve(
        {
          goal,
          ...(risk ? { risk_tier: risk } : {}),
          scope: { atlases: [`${atlas.atlas.namespace}/${atlas.atlas.name}`] },
        },
        { method: 'prompts/get', name, callId: String(extra.requestId), meta: request.params._meta },
        notifier((n) => extra.sendNotification(n)),
      );
      const tools = grantTables(resolution, session.index).table.names().sort();
      return promptMessages(goal, resolution, tools);
    }),
  );

  return server;
}

/** Long-lived sessions: `list_changed` on the server's own channel (stdio, the GET stream). */
export function serverNotifier(server: Server): Notify {
  return notifier((n) => server.notification(n));
}

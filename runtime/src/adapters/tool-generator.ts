/**
 * `POST /v1/adapt/{platform}`: the tools, tool choice and system prompt/instructions of one of
 * the caller's resolutions for a platform, names from the atlas `toolMappings`, and the
 * `tool_names` index back to the real grants. Emits `adapter.tools.generated` into the
 * resolution's session.
 */
import {
  actionsFromBundle,
  anthropicSystemPrompt,
  anthropicToolChoice,
  anthropicTools,
  chatToolChoice,
  chatTools,
  CraError,
  grantNames,
  mappingsFromBundle,
  markdownInstructions,
  mcpTools,
  openaiFunctions,
  responsesToolChoice,
  responsesTools,
  toolNameIndex,
  type CARPResolution,
  type Clock,
  type IdSource,
  type OpenAIFormat,
  type Platform,
  type ToolChoice,
  type ToolNameEntry,
  type Violation,
} from '@cra/core';
import type { CallContext } from '../domain/call-context.js';
import type { Cra } from '../domain/cra.js';
import { inOperationSpan } from '../domain/otel.js';
import { adapterParent, ownResolution } from './resolution-access.js';

export interface AdaptInput {
  resolution_id: string;
  /** OpenAI only: Chat Completions (default) or Responses tool shapes. */
  format?: OpenAIFormat;
  tool_choice?: ToolChoice;
}

export interface AdaptOutput {
  platform: Platform;
  resolution_id: string;
  format?: OpenAIFormat;
  /** OpenAI (system/developer message or Responses `instructions`) and MCP (server instructions). */
  instructions?: string;
  /** Anthropic `system`. */
  system?: string;
  tools: object[];
  tool_choice?: unknown;
  tool_names: Record<string, ToolNameEntry>;
  decision: CARPResolution['decision']['type'];
  expires_at: string;
}

function invalid(path: string, message: string): CraError {
  const violations: Violation[] = [{ code: 'INVALID_REQUEST', path, message }];
  return new CraError('INVALID_REQUEST', `${path.slice(1)} ${message}`, { details: { violations } });
}

function checkInput(platform: Platform, input: AdaptInput, names: readonly string[]): void {
  if (input.format !== undefined && platform !== 'openai') {
    throw invalid('/format', `applies to openai only, not ${platform}`);
  }
  const choice = input.tool_choice;
  if (choice === undefined) return;
  if (platform === 'mcp') throw invalid('/tool_choice', 'does not apply to mcp (the client chooses)');
  if (choice === 'required' && names.length === 0) {
    throw invalid('/tool_choice', 'is "required" but the resolution grants no tool');
  }
  if (typeof choice === 'object' && !names.includes(choice.name)) {
    throw invalid(
      '/tool_choice/name',
      `names no tool of this resolution (${names.length > 0 ? names.join(', ') : 'it grants none'})`,
    );
  }
}

export class ToolGenerator {
  constructor(
    private readonly cra: Cra,
    private readonly ids: IdSource,
    private readonly clock: Clock,
  ) {}

  async adapt(ctx: CallContext, platform: Platform, input: AdaptInput): Promise<AdaptOutput> {
    const resolution = await ownResolution(this.cra, ctx, input.resolution_id);
    if (Date.parse(resolution.ttl.resolution_expires_at) <= this.clock.now()) {
      throw new CraError(
        'RESOLUTION_EXPIRED',
        `resolution ${resolution.resolution_id} expired at ${resolution.ttl.resolution_expires_at}; resolve again`,
      );
    }
    const index = this.cra.bundles.current;
    const mappingsOf = mappingsFromBundle(index);
    const names = grantNames(resolution, platform, mappingsOf);
    checkInput(platform, input, names.names());
    const format = platform === 'openai' ? (input.format ?? 'chat') : undefined;
    const out = this.render(platform, format, resolution, input.tool_choice, index, names);

    await inOperationSpan(
      'cra.adapt',
      this.ids,
      adapterParent(ctx, resolution),
      ctx.traceparent,
      { 'cra.platform': platform, 'cra.resolution_id': resolution.resolution_id },
      async (span) => {
        await this.cra.sessions.ensure(ctx.principal, span, resolution.session_id);
        await this.cra.tracer.emit(resolution.session_id, span, [
          {
            type: 'adapter.tools.generated',
            payload: {
              platform,
              ...(format ? { format } : {}),
              resolution_id: resolution.resolution_id,
              tools_count: out.tools.length,
              tool_names: Object.keys(out.tool_names),
              ...(format
                ? {
                    strict_tools: openaiFunctions(resolution, mappingsOf)
                      .filter((fn) => fn.strict)
                      .map((fn) => fn.name),
                  }
                : {}),
              ...(input.tool_choice !== undefined ? { tool_choice: input.tool_choice } : {}),
            },
          },
        ]);
      },
    );
    return out;
  }

  private render(
    platform: Platform,
    format: OpenAIFormat | undefined,
    resolution: CARPResolution,
    choice: ToolChoice | undefined,
    index: Cra['bundles']['current'],
    names: ReturnType<typeof grantNames>,
  ): AdaptOutput {
    const mappingsOf = mappingsFromBundle(index);
    const base = {
      platform,
      resolution_id: resolution.resolution_id,
      tool_names: toolNameIndex(names),
      decision: resolution.decision.type,
      expires_at: resolution.ttl.resolution_expires_at,
    };
    switch (platform) {
      case 'openai':
        return {
          ...base,
          format: format ?? 'chat',
          instructions: markdownInstructions(resolution, names),
          tools: format === 'responses' ? responsesTools(resolution, mappingsOf) : chatTools(resolution, mappingsOf),
          ...(choice !== undefined
            ? { tool_choice: format === 'responses' ? responsesToolChoice(choice) : chatToolChoice(choice) }
            : {}),
        };
      case 'anthropic':
        return {
          ...base,
          system: anthropicSystemPrompt(resolution, names),
          tools: anthropicTools(resolution, mappingsOf),
          ...(choice !== undefined ? { tool_choice: anthropicToolChoice(choice) } : {}),
        };
      case 'mcp':
        return {
          ...base,
          instructions: markdownInstructions(resolution, names),
          tools: mcpTools(resolution, mappingsOf, { actionOf: actionsFromBundle(index) }),
        };
    }
  }
}

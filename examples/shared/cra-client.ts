/**
 * The few CRA calls an agent loop needs, over plain `fetch`: resolve a goal, get the platform's
 * tools and prompt for the resolution (`POST /v1/adapt/{platform}`), and hand the model's tool
 * calls to CRA (`POST /v1/adapt/{platform}/calls`), which executes them through CARP and returns
 * the platform's tool results. No dependency beyond Node.
 */
import { randomBytes } from 'node:crypto';

export type Platform = 'openai' | 'anthropic' | 'mcp';
export type RiskTier = 'low' | 'medium' | 'high' | 'critical';
export type ToolChoice = 'auto' | 'required' | 'none' | { name: string };

export interface CraClientOptions {
  /** Runtime base URL, e.g. http://127.0.0.1:8080 (`make run`). */
  url: string;
  /** An API key of an identity with the agent role, e.g. `dev-agent-key`. */
  apiKey: string;
  /** The agent id of that identity (`requester.agent_id` must equal it), e.g. `dev-agent`. */
  agentId: string;
  fetch?: typeof fetch;
}

export interface Resolution {
  resolution_id: string;
  session_id: string;
  decision: { type: string } & Record<string, unknown>;
  allowed_actions: { action_id: string; action_type: string }[];
}

export interface Adapted {
  platform: Platform;
  resolution_id: string;
  instructions?: string;
  system?: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the platform's own tool shape
  tools: any[];
  tool_choice?: unknown;
  tool_names: Record<string, { action_id: string; action_type: string; requires_approval: boolean }>;
  decision: string;
  expires_at: string;
}

export interface ToolOutcome {
  call_id: string;
  name: string;
  status: 'success' | 'pending_approval' | 'failed' | 'timeout' | 'denied';
  is_error: boolean;
  content: string;
  action_id?: string;
  execution_id?: string;
  approval_id?: string;
  error?: { code: string; message: string };
}

export interface CallResults {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the platform's own tool-result shape
  results: any[];
  outcomes: ToolOutcome[];
}

/** Thrown for a CARPError reply; `code` is the CARP error code. */
export class CraRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A UUIDv7 (RFC 9562): CARP request and session ids are UUIDv7. */
export function uuidv7(): string {
  const bytes = randomBytes(16);
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class CraClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: CraClientOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  private async post<T>(path: string, body: unknown): Promise<T> {
    const res = await this.fetch(`${this.options.url.replace(/\/$/, '')}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.options.apiKey}` },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as T & { error?: { code: string; message: string } };
    if (!res.ok) {
      throw new CraRequestError(res.status, json.error?.code ?? 'UNKNOWN', json.error?.message ?? res.statusText);
    }
    return json;
  }

  /** Resolves `goal` in a new session (or `sessionId`). */
  resolve(input: {
    goal: string;
    riskTier?: RiskTier;
    hints?: string[];
    sessionId?: string;
    scope?: Record<string, unknown>;
  }): Promise<Resolution> {
    return this.post('/v1/resolve', {
      carp_version: '1.0',
      request_id: uuidv7(),
      timestamp: new Date().toISOString(),
      operation: 'resolve',
      requester: { agent_id: this.options.agentId, session_id: input.sessionId ?? uuidv7() },
      task: {
        goal: input.goal,
        ...(input.riskTier ? { risk_tier: input.riskTier } : {}),
        ...(input.hints ? { context_hints: input.hints } : {}),
      },
      ...(input.scope ? { scope: input.scope } : {}),
    });
  }

  adapt(
    platform: Platform,
    resolutionId: string,
    options: { format?: 'chat' | 'responses'; toolChoice?: ToolChoice } = {},
  ): Promise<Adapted> {
    return this.post(`/v1/adapt/${platform}`, {
      resolution_id: resolutionId,
      ...(options.format ? { format: options.format } : {}),
      ...(options.toolChoice ? { tool_choice: options.toolChoice } : {}),
    });
  }

  /** Runs the model's tool calls, as the platform returned them, through CRA. */
  calls(
    platform: Platform,
    resolutionId: string,
    calls: unknown[],
    format?: 'chat' | 'responses',
  ): Promise<CallResults> {
    return this.post(`/v1/adapt/${platform}/calls`, {
      resolution_id: resolutionId,
      ...(format ? { format } : {}),
      calls,
    });
  }
}

/** CRA settings from the environment, defaulting to `make run` and the dev agent. */
export function craFromEnv(env: NodeJS.ProcessEnv = process.env): CraClient {
  return new CraClient({
    url: env.CRA_URL ?? 'http://127.0.0.1:8080',
    apiKey: env.CRA_API_KEY ?? 'dev-agent-key',
    agentId: env.CRA_AGENT_ID ?? 'dev-agent',
  });
}

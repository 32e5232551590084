import { describe, expect, it } from 'vitest';
import {
  AnthropicStreamAssembler,
  anthropicToolChoice,
  anthropicToolResult,
  anthropicTools,
  parseAnthropicToolUses,
} from '../src/adapters/anthropic.js';
import { executionOutcome } from '../src/adapters/tool-calls.js';
import { createIssue, mappings, mergePr, resolution } from './adapters-fixture.js';

describe('Anthropic tools', () => {
  it('one tool per grant {name, description, input_schema}, names from toolMappings', () => {
    const tools = anthropicTools(resolution(), mappings);
    expect(tools.map((t) => t.name)).toEqual(['api_github_list_labels', 'github_create_issue', 'github_merge_pr']);
    expect(tools[2]).toEqual({
      name: 'github_merge_pr',
      description: expect.any(String),
      input_schema: mergePr.schema,
    });
    expect(tools[1]!.input_schema).toEqual(createIssue.schema);
  });

  it('notes high/critical risk and approval in the description', () => {
    const [, issue, merge] = anthropicTools(resolution(), mappings);
    expect(merge!.description.split('\n')).toEqual([
      '[HIGH RISK] Merges a pull request.',
      'Requires human approval: calling it returns status "pending_approval" with an approval_id, and the action runs only after an approver approves it.',
    ]);
    expect(issue!.description).not.toMatch(/RISK|approval/);
  });

  it('maps tool choices', () => {
    expect(anthropicToolChoice('auto')).toEqual({ type: 'auto' });
    expect(anthropicToolChoice('required')).toEqual({ type: 'any' });
    expect(anthropicToolChoice('none')).toEqual({ type: 'none' });
    expect(anthropicToolChoice({ name: 'github_merge_pr' })).toEqual({ type: 'tool', name: 'github_merge_pr' });
  });
});

describe('Anthropic tool use', () => {
  it('parses tool_use blocks and skips text', () => {
    expect(
      parseAnthropicToolUses([
        { type: 'text', text: 'Let me open it.' },
        { type: 'tool_use', id: 'toolu_1', name: 'github_create_issue', input: { owner: 'acme' } },
      ]),
    ).toEqual([{ call_id: 'toolu_1', name: 'github_create_issue', arguments: { owner: 'acme' } }]);
  });

  it('tool_result blocks carry is_error', () => {
    const outcome = executionOutcome(
      { call_id: 'toolu_1', name: 'github_merge_pr' },
      {
        carp_version: '1.0',
        request_id: 'r',
        execution_id: 'e',
        resolution_id: 'res',
        action_id: 'a',
        timestamp: 't',
        status: 'pending_approval',
        approval_id: 'appr-1',
        metrics: { duration_ms: 0 },
        telemetry_link: { trace_id: 't', span_id: 's', events_emitted: 1 },
      },
    );
    const block = anthropicToolResult(outcome);
    expect(block).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_1', is_error: false });
    expect(JSON.parse(block.content)).toMatchObject({ status: 'pending_approval', approval_id: 'appr-1' });
  });

  it('assembles tool_use input from input_json_delta fragments', () => {
    const a = new AnthropicStreamAssembler();
    for (const e of [
      { type: 'message_start', message: { id: 'msg_1', content: [] } },
      { type: 'ping' },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Opening ' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'it.' } },
      { type: 'content_block_stop', index: 0 },
      {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: 'toolu_1', name: 'github_create_issue', input: {} },
      },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"owner": "ac' } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'me"}' } },
      { type: 'content_block_stop', index: 1 },
      {
        type: 'content_block_start',
        index: 2,
        content_block: { type: 'tool_use', id: 'toolu_2', name: 'github_merge_pr', input: {} },
      },
      { type: 'content_block_stop', index: 2 },
      { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ]) {
      a.push(e);
    }
    expect(a.id).toBe('msg_1');
    expect(a.stopReason).toBe('tool_use');
    expect(a.text()).toBe('Opening it.');
    expect(a.content()).toEqual([
      { type: 'text', text: 'Opening it.' },
      { type: 'tool_use', id: 'toolu_1', name: 'github_create_issue', input: { owner: 'acme' } },
      { type: 'tool_use', id: 'toolu_2', name: 'github_merge_pr', input: {} },
    ]);
    expect(parseAnthropicToolUses(a.toolUses()).map((c) => c.arguments)).toEqual([{ owner: 'acme' }, {}]);
  });

  it('keeps streamed input that is not valid JSON as raw text: the call reports it, the message stays valid', () => {
    const a = new AnthropicStreamAssembler();
    a.push({
      type: 'content_block_start',
      index: 0,
      content_block: { type: 'tool_use', id: 'toolu_1', name: 'x', input: {} },
    });
    a.push({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"owner": ' } });
    a.push({ type: 'content_block_stop', index: 0 });
    expect(a.content()[0]).toMatchObject({ input: {} });
    const [call] = parseAnthropicToolUses(a.toolUses());
    expect(call!.error?.message).toMatch(/^arguments are not valid JSON/);
  });
});

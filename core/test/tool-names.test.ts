import { describe, expect, it } from 'vitest';
import { deriveToolName, toolNameTable, type ToolSubject } from '../src/adapters/tool-names.js';

const subject = (atlas_ref: string, atlas_action_id: string, action_type: string): ToolSubject => ({
  atlas_ref,
  atlas_action_id,
  action_type,
});

describe('tool names', () => {
  it('derives platform-valid names from action types', () => {
    expect(deriveToolName('api.github.create_issue', 'openai')).toBe('api_github_create_issue');
    expect(deriveToolName('api.github.create_issue', 'mcp')).toBe('api.github.create_issue');
    const long = `api.${'x'.repeat(100)}`;
    const name = deriveToolName(long, 'anthropic');
    expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(deriveToolName(long, 'anthropic')).toBe(name);
    expect(deriveToolName(`${long}y`, 'anthropic')).not.toBe(name);
  });

  it('uses the atlas toolMappings and reverses through the table, not by parsing', () => {
    const a = subject('default/github-ops@1.0.0', 'create-issue', 'api.github.create_issue');
    const b = subject('default/github-ops@1.0.0', 'close-issue', 'api.github.close_issue');
    const table = toolNameTable([a, b], 'openai', () => ({ openai: { 'create-issue': 'github_create_issue' } }));
    expect(table.nameOf(a)).toBe('github_create_issue');
    expect(table.nameOf(b)).toBe('api_github_close_issue');
    expect(table.subjectOf('github_create_issue')).toBe(a);
    expect(table.subjectOf('api_github_create_issue')).toBeUndefined();
  });

  it('ignores a mapping that is invalid for the platform', () => {
    const a = subject('x', 'a', 'api.t.a');
    expect(toolNameTable([a], 'openai', () => ({ openai: { a: 'has space' } })).nameOf(a)).toBe('api_t_a');
  });

  it('resolves collisions deterministically, whatever the input order', () => {
    const a = subject('ns/one@1.0.0', 'a', 'api.x.do');
    const b = subject('ns/two@1.0.0', 'a', 'api.x.do');
    const first = toolNameTable([a, b], 'openai', () => undefined);
    const second = toolNameTable([b, a], 'openai', () => undefined);
    expect(first.nameOf(a)).toBe('api_x_do');
    expect(first.nameOf(b)).toBe('api_x_do_2');
    expect(second.nameOf(a)).toBe('api_x_do');
    expect(second.nameOf(b)).toBe('api_x_do_2');
  });
});

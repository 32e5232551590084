/**
 * The files `cra atlas create` writes: a local-format atlas that passes `cra atlas validate` as
 * generated (a domain, a context pack with evidence sources, http actions whose base URL comes
 * from an environment variable with a default, a policy allowing them, approval for high risk).
 */
import type { RiskTier } from '@cra/core';

export const TEMPLATES = ['basic', 'api', 'ops'] as const;
export type Template = (typeof TEMPLATES)[number];

export interface TemplateInput {
  name: string;
  domain: string;
  template: Template;
  description?: string;
}

interface ActionDraft {
  id: string;
  verb: string;
  title: string;
  what: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  risk: RiskTier;
  /** Parameters besides the URL placeholders. */
  body?: Record<string, { type: string; description: string }>;
  required?: string[];
}

const ID_PARAM = { id: { type: 'string', description: 'Identifier of the item.' } };

function actionsFor(template: Template): ActionDraft[] {
  switch (template) {
    case 'api':
      return [
        {
          id: 'get-item',
          verb: 'get_item',
          title: 'Get item',
          what: 'Reads one item by id.',
          method: 'GET',
          url: '/items/{id}',
          risk: 'low',
        },
        {
          id: 'create-item',
          verb: 'create_item',
          title: 'Create item',
          what: 'Creates an item.',
          method: 'POST',
          url: '/items',
          risk: 'medium',
          body: { name: { type: 'string', description: 'Name of the new item.' } },
          required: ['name'],
        },
        {
          id: 'delete-item',
          verb: 'delete_item',
          title: 'Delete item',
          what: 'Deletes an item; cannot be undone.',
          method: 'DELETE',
          url: '/items/{id}',
          risk: 'high',
        },
      ];
    case 'ops':
      return [
        {
          id: 'list-resources',
          verb: 'list_resources',
          title: 'List resources',
          what: 'Lists the managed resources.',
          method: 'GET',
          url: '/resources',
          risk: 'low',
        },
        {
          id: 'create-resource',
          verb: 'create_resource',
          title: 'Create resource',
          what: 'Creates a resource.',
          method: 'POST',
          url: '/resources',
          risk: 'medium',
          body: { name: { type: 'string', description: 'Name of the new resource.' } },
          required: ['name'],
        },
        {
          id: 'update-resource',
          verb: 'update_resource',
          title: 'Update resource',
          what: 'Changes the settings of a resource.',
          method: 'PATCH',
          url: '/resources/{id}',
          risk: 'medium',
          body: { settings: { type: 'object', description: 'Settings to change.' } },
          required: ['settings'],
        },
        {
          id: 'delete-resource',
          verb: 'delete_resource',
          title: 'Delete resource',
          what: 'Deletes a resource; cannot be undone.',
          method: 'DELETE',
          url: '/resources/{id}',
          risk: 'high',
        },
      ];
    default:
      return [
        {
          id: 'get-status',
          verb: 'get_status',
          title: 'Get status',
          what: 'Reads the status of one item.',
          method: 'GET',
          url: '/status/{id}',
          risk: 'low',
        },
      ];
  }
}

/** A dotted action-type segment from an atlas name: `my-svc` → `my_svc`. */
export function typeSegment(name: string): string {
  const seg = name.replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return /^[a-z]/.test(seg) ? seg : `x${seg}`;
}

export function envVarFor(name: string): string {
  return `${name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_API_URL`;
}

function yamlString(value: string): string {
  return JSON.stringify(value);
}

function actionYaml(a: ActionDraft, input: TemplateInput, seg: string, env: string): string {
  const placeholders = [...a.url.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const properties: Record<string, { type: string; description: string }> = {
    ...Object.fromEntries(placeholders.map((p) => [p, ID_PARAM.id])),
    ...a.body,
  };
  const required = [...placeholders, ...(a.required ?? [])];
  const props = Object.entries(properties)
    .map(
      ([key, p]) =>
        `        ${key}:\n          type: ${p.type}\n          description: ${yamlString(p.description)}` +
        (p.type === 'string' ? '\n          minLength: 1\n          maxLength: 256' : ''),
    )
    .join('\n');
  const example = Object.fromEntries(
    Object.entries(properties).map(([key, p]) => [key, p.type === 'object' ? {} : key === 'id' ? 'item-1' : 'example']),
  );
  return `  - id: ${a.id}
    type: ${seg}.${a.verb}
    name: ${yamlString(a.title)}
    description: ${yamlString(a.what)}
    domain: ${input.domain}
    riskTier: ${a.risk}
    schema:
      type: object
      additionalProperties: false
      required: [${required.join(', ')}]
      properties:
${props || '        {}'}
    examples:
      - description: ${yamlString(`${a.title} (example)`)}
        parameters: ${JSON.stringify(example)}
    executor:
      type: http
      method: ${a.method}
      url: ${a.url}
      baseUrl:
        valueFrom: {env: ${env}}
        default: https://api.example.com
      headers:
        Accept: application/json
        # A token from a Kubernetes Secret (a file <secretsDir>/${input.name}-token/token locally):
        # Authorization:
        #   valueFrom: {secretKeyRef: {name: ${input.name}-token, key: token}}
        #   prefix: "Bearer "
      body: ${a.method === 'GET' || a.method === 'DELETE' ? 'none' : 'remaining'}
      timeoutMs: 10000`;
}

/** Relative path → file content. */
export function atlasFiles(input: TemplateInput): Record<string, string> {
  const { name, domain, template } = input;
  const seg = typeSegment(name);
  const env = envVarFor(name);
  const actions = actionsFor(template);
  const description = input.description ?? `Context and actions for ${name}.`;
  const packs = template === 'ops' ? ['overview', 'runbook'] : ['overview'];
  const packYaml = packs
    .map(
      (id, i) => `  - id: ${id}
    domain: ${domain}
    format: markdown
    ttlSeconds: 3600
    priority: ${10 - i}
    tags: [${id === 'runbook' ? 'operations, incidents' : 'overview'}]
    evidenceSources:
      - https://docs.example.com/${name}/${id}   # the documents this pack summarises`,
    )
    .join('\n');
  const manifest = `# ${name}: an atlas in the local directory format (atlas.yaml + context/<pack id>.md).
# Validate with: cra atlas validate ${name}    Publish for GitOps: cra atlas publish ${name}
name: ${name}
version: 0.1.0
description: ${yamlString(description)}
license:
  type: free
keywords: [${seg}]

domains:
  - id: ${domain}
    name: ${yamlString(name)}
    riskTier: ${template === 'basic' ? 'low' : 'medium'}

contextPacks:
${packYaml}

actions:
${actions.map((a) => actionYaml(a, input, seg, env)).join('\n\n')}

policies:
  - id: allow-${name}-actions
    description: Every action of this atlas may be granted (the request's risk tier still caps which).
    when:
      actionType: "${seg}.*"
    effect: allow
    priority: 10
  - id: require-approval-high-risk
    description: High and critical actions run only after a human approver agrees.
    when:
      riskTier:
        in: [high, critical]
    effect: require_approval
    priority: 100
    message: High-risk actions need explicit approval.
    params:
      approvers: ["role:approver"]
      timeoutSeconds: 3600
`;
  const files: Record<string, string> = {
    'atlas.yaml': manifest,
    'context/overview.md': `# ${name}\n\n${description}\n\nWhat an agent should know before acting: the main concepts, naming rules, and what\neach action changes. Keep it short; agents receive it as context.\n`,
    'README.md': `# ${name}\n\n${description}\n\n- Base URL: \`${env}\` (default https://api.example.com)\n- Validate: \`cra atlas validate ${name}\`\n- Serve: \`cra serve --atlases ${name}\`\n- Publish for GitOps: \`cra atlas publish ${name} > ${name}.atlas.yaml\`\n`,
  };
  if (packs.includes('runbook')) {
    files['context/runbook.md'] =
      `# ${name} runbook\n\nSteps to diagnose and fix common incidents, and when to hand over to a human.\n`;
  }
  return files;
}

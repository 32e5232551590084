/**
 * CRA's CustomResourceDefinitions, generated from core's spec schemas (a pure function: same
 * core, same CRDs). `npm run gen:crds` writes them to `crds/`; crds-drift.test.ts checks that the
 * committed files are this function's output and that each spec schema is core's up to the
 * transformation in `structural.ts` plus the overlays in `overlays.ts`.
 */
import { agentIdentitySpecSchema, atlasSpecSchema, policySpecSchema } from '@cra/core';
import { CONDITION_READY } from '../k8s/constants.js';
import {
  AGENT_IDENTITY_NAMES,
  ATLAS_NAMES,
  CRA_CATEGORY,
  CRA_GROUP,
  CRA_VERSION,
  POLICY_NAMES,
  crdName,
  type ResourceNames,
} from './names.js';
import { agentIdentitySpecOverlays, atlasSpecOverlays, policySpecOverlays } from './overlays.js';
import { agentIdentityStatusSchema, atlasStatusSchema, policyStatusSchema } from './status.js';
import { applyOverlays, toStructural, type JsonSchema, type SchemaOverlay } from './structural.js';
import { toYamlDocuments } from './yaml.js';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: {
    group: string;
    names: ResourceNames & { categories: string[] };
    scope: 'Namespaced';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: JsonSchema };
      subresources: { status: Record<string, never> };
      additionalPrinterColumns: PrinterColumn[];
      selectableFields?: { jsonPath: string }[];
    }[];
  };
}

/** Everything that differs between the three kinds. */
export interface KindDefinition {
  names: ResourceNames;
  description: string;
  /** Core's spec schema, untransformed. */
  coreSpecSchema: object;
  specOverlays: readonly SchemaOverlay[];
  statusSchema: JsonSchema;
  /** Printer columns, in order (priority 1: only with -o wide). */
  columns: PrinterColumn[];
  /** Restrictions on metadata.name (the only metadata a CRD may constrain). */
  nameSchema?: JsonSchema;
  selectableFields?: string[];
}

const readyCondition = `.status.conditions[?(@.type=="${CONDITION_READY}")]`;

export const READY_COLUMN: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: `${readyCondition}.status`,
  description: 'Whether the resource is in the published runtime bundle.',
};
export const REASON_COLUMN: PrinterColumn = {
  name: 'Reason',
  type: 'string',
  jsonPath: `${readyCondition}.reason`,
  description: "The Ready condition's reason.",
};
export const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
export const BUNDLE_COLUMN: PrinterColumn = {
  name: 'Bundle',
  type: 'string',
  jsonPath: '.status.bundleVersion',
  description: 'Version of the runtime bundle that includes this generation.',
  priority: 1,
};

export const KINDS: readonly KindDefinition[] = [
  {
    names: ATLAS_NAMES,
    description:
      'Atlas is a versioned package of domain knowledge for agents (CRA-SPEC §1). Its reference is ' +
      '<namespace>/<name>@<spec.version>.',
    coreSpecSchema: atlasSpecSchema,
    specOverlays: atlasSpecOverlays,
    statusSchema: atlasStatusSchema,
    columns: [
      { name: 'Version', type: 'string', jsonPath: '.spec.version', description: 'SemVer version.' },
      { name: 'Actions', type: 'integer', jsonPath: '.status.actions', description: 'Number of actions.' },
      READY_COLUMN,
      REASON_COLUMN,
      AGE_COLUMN,
      {
        name: 'Packs',
        type: 'integer',
        jsonPath: '.status.contextPacks',
        description: 'Number of context packs.',
        priority: 1,
      },
      BUNDLE_COLUMN,
    ],
    // The atlas name is part of its reference and must be a DNS-1123 label (core: isDnsLabel).
    nameSchema: { type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
    selectableFields: ['.spec.version'],
  },
  {
    names: POLICY_NAMES,
    description:
      'Policy holds rules (CRA-SPEC §4), rate limits, redaction and approval settings applied on top of ' +
      'the atlases and agents its selector picks.',
    coreSpecSchema: policySpecSchema,
    specOverlays: policySpecOverlays,
    statusSchema: policyStatusSchema,
    columns: [
      { name: 'Rules', type: 'integer', jsonPath: '.status.rules', description: 'Number of rules.' },
      READY_COLUMN,
      REASON_COLUMN,
      AGE_COLUMN,
      BUNDLE_COLUMN,
    ],
  },
  {
    names: AGENT_IDENTITY_NAMES,
    description:
      'AgentIdentity is one agent: its id, labels and roles, its credentials (an API-key digest Secret ' +
      'and/or a JWT subject), the atlases it may use and its limits.',
    coreSpecSchema: agentIdentitySpecSchema,
    specOverlays: agentIdentitySpecOverlays,
    statusSchema: agentIdentityStatusSchema,
    columns: [
      { name: 'Agent', type: 'string', jsonPath: '.spec.agentId', description: 'The agent id.' },
      {
        name: 'Max-Risk',
        type: 'string',
        jsonPath: '.spec.maxRiskTier',
        description: 'The highest risk tier the agent may be granted.',
      },
      READY_COLUMN,
      REASON_COLUMN,
      AGE_COLUMN,
      {
        name: 'API-Key',
        type: 'boolean',
        jsonPath: '.status.apiKeyConfigured',
        description: 'Whether the API-key digest Secret resolved.',
        priority: 1,
      },
      {
        name: 'JWT-Issuer',
        type: 'string',
        jsonPath: '.spec.auth.jwt.issuer',
        description: 'Issuer of the JWTs that map to this agent.',
        priority: 1,
      },
      BUNDLE_COLUMN,
    ],
    selectableFields: ['.spec.agentId'],
  },
];

/** The CRD `spec` schema of a kind: core's schema, transformed, plus the overlays. */
export function crdSpecSchema(kind: KindDefinition): JsonSchema {
  return applyOverlays(toStructural(kind.coreSpecSchema), kind.specOverlays);
}

export function generateCrd(kind: KindDefinition): CustomResourceDefinition {
  const metadata: JsonSchema =
    kind.nameSchema === undefined ? { type: 'object' } : { type: 'object', properties: { name: kind.nameSchema } };
  const openAPIV3Schema: JsonSchema = {
    type: 'object',
    description: kind.description,
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata,
      spec: crdSpecSchema(kind),
      status: structuredClone(kind.statusSchema),
    },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(kind.names), labels: { 'app.kubernetes.io/part-of': 'cra' } },
    spec: {
      group: CRA_GROUP,
      names: { ...kind.names, shortNames: [...kind.names.shortNames], categories: [CRA_CATEGORY] },
      scope: 'Namespaced',
      versions: [
        {
          name: CRA_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema },
          subresources: { status: {} },
          additionalPrinterColumns: kind.columns.map((c) => ({ ...c })),
          ...(kind.selectableFields === undefined
            ? {}
            : { selectableFields: kind.selectableFields.map((jsonPath) => ({ jsonPath })) }),
        },
      ],
    },
  };
}

/** The three CRDs: atlases, policies, agentidentities. */
export function generateCrds(): CustomResourceDefinition[] {
  return KINDS.map(generateCrd);
}

/** `crds/<plural>.<group>.yaml` */
export function crdFileName(crd: CustomResourceDefinition): string {
  return `${crd.metadata.name}.yaml`;
}

export const GENERATED_HEADER = 'Generated by `npm run gen:crds` (operator/scripts/gen-crds.ts) from core\'s schemas. Do not edit.';

/** The file content of one CRD. */
export function crdYaml(crd: CustomResourceDefinition): string {
  return toYamlDocuments([crd], GENERATED_HEADER);
}

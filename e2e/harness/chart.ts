// The Helm chart and kustomize bases against the real binaries: helm (go-installed, so every call
// passes --kube-version), kubectl kustomize, and an API client that applies raw manifests with
// server-side apply — dry run or for real — and strict field validation. client-node's typed
// serializer would drop unknown fields before the server could reject them, so requests here send
// the manifest exactly as rendered.
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { defaultAssetsDir } from './control-plane.js';
import { REPO_ROOT } from './runtime-process.js';

/** Helm's built-in default is v1.20 for a go-installed binary (kubernetes.md §6.4): always say which. */
export const CHART_KUBE_VERSION = '1.37.0';
export const CHART_DIR = `${REPO_ROOT}charts/cra`;
export const MONITORING_API = 'monitoring.coreos.com/v1';

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

function tool(name: 'helm' | 'kubectl'): string | undefined {
  const variable = process.env[`TEST_ASSET_${name.toUpperCase()}`];
  const assets = process.env['KUBEBUILDER_ASSETS'];
  const candidates = [
    variable,
    name === 'helm' ? process.env['HELM'] : undefined,
    assets ? join(assets, name) : undefined,
    join(defaultAssetsDir(), name),
  ];
  return candidates.find((c): c is string => c !== undefined && c !== '' && existsSync(c));
}

export const helmBinary = (): string | undefined => tool('helm');
export const kubectlBinary = (): string | undefined => tool('kubectl');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runTool(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', ...env },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

export async function helm(args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  const binary = helmBinary();
  if (!binary) throw new Error('helm not found: scripts/build-envtest.sh builds it into .cache/envtest');
  // Private cache/config dirs: no repositories, no plugins, nothing from the machine's helm.
  const home = join(REPO_ROOT, '.cache', 'helm-test');
  return runTool(binary, args, {
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    ...env,
  });
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`invalid YAML: ${d.errors[0]!.message}`);
      return d.toJS() as Manifest | null;
    })
    .filter((o): o is Manifest => o !== null && typeof o === 'object');
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  valuesFiles?: string[];
  set?: string[];
  apiVersions?: string[];
}

export function templateArgs(options: RenderOptions = {}): string[] {
  return [
    'template',
    options.release ?? 'cra',
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'cra-system',
    '--kube-version',
    CHART_KUBE_VERSION,
    ...(options.valuesFiles ?? []).flatMap((f) => ['-f', f]),
    ...(options.set ?? []).flatMap((s) => ['--set', s]),
    ...(options.apiVersions ?? []).flatMap((a) => ['--api-versions', a]),
  ];
}

/** `helm template`; throws with helm's message when it fails. */
export async function renderChart(options: RenderOptions = {}): Promise<Manifest[]> {
  const result = await helm(templateArgs(options));
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}):\n${result.stderr}`);
  return parseManifests(result.stdout);
}

// ---- raw API access ---------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}: ${body.slice(0, 2000)}`);
  }
}

interface ResourceInfo {
  plural: string;
  namespaced: boolean;
}

/** Raw requests with a KubeConfig's credentials; apply by server-side apply, discovery cached. */
export class RawApi {
  private readonly discovery = new Map<string, Map<string, ResourceInfo>>();

  constructor(private readonly kc: KubeConfig) {}

  async request(method: string, path: string, body?: string, contentType = 'application/json'): Promise<string> {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig without a cluster');
    const url = new URL(path, cluster.server);
    const options: RequestOptions = {
      method,
      headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': contentType } : {}) },
    };
    await this.kc.applyToHTTPSOptions(options);
    return new Promise((resolve, reject) => {
      const req = request(url, options, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(text);
          else reject(new ApiError(status, text, `${method} ${url.pathname}`));
        });
      });
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  private async resources(apiVersion: string): Promise<Map<string, ResourceInfo>> {
    const cached = this.discovery.get(apiVersion);
    if (cached) return cached;
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const list = JSON.parse(await this.request('GET', path)) as {
      resources: { name: string; kind: string; namespaced: boolean }[];
    };
    const byKind = new Map<string, ResourceInfo>();
    for (const r of list.resources) {
      if (!r.name.includes('/')) byKind.set(r.kind, { plural: r.name, namespaced: r.namespaced });
    }
    this.discovery.set(apiVersion, byKind);
    return byKind;
  }

  /** Forget discovery (after CRDs were installed). */
  rediscover(): void {
    this.discovery.clear();
  }

  async path(o: Manifest, defaultNamespace?: string): Promise<string> {
    const info = (await this.resources(o.apiVersion)).get(o.kind);
    if (!info) throw new Error(`${o.apiVersion} ${o.kind} is not served by the API server`);
    const prefix = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    if (!info.namespaced) return `${prefix}/${info.plural}/${encodeURIComponent(o.metadata.name)}`;
    const namespace = o.metadata.namespace ?? defaultNamespace;
    if (!namespace) throw new Error(`${o.kind} ${o.metadata.name} needs a namespace`);
    return `${prefix}/namespaces/${namespace}/${info.plural}/${encodeURIComponent(o.metadata.name)}`;
  }

  /**
   * Server-side apply of the manifest as rendered; `dryRun` runs admission, defaulting, schema and
   * CEL validation without persisting. Unknown or duplicate fields are errors (fieldValidation=Strict).
   */
  async apply(
    o: Manifest,
    options: { dryRun?: boolean; namespace?: string; fieldManager?: string } = {},
  ): Promise<Record<string, unknown>> {
    const query = new URLSearchParams({
      fieldManager: options.fieldManager ?? 'cra-chart-test',
      fieldValidation: 'Strict',
      force: 'true',
      ...(options.dryRun ? { dryRun: 'All' } : {}),
    });
    const body = JSON.stringify(o);
    const text = await this.request(
      'PATCH',
      `${await this.path(o, options.namespace)}?${query.toString()}`,
      body,
      'application/apply-patch+yaml',
    );
    return JSON.parse(text) as Record<string, unknown>;
  }

  async get(o: Manifest, namespace?: string): Promise<Record<string, unknown> | undefined> {
    try {
      return JSON.parse(await this.request('GET', await this.path(o, namespace))) as Record<string, unknown>;
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) return undefined;
      throw error;
    }
  }
}

/** Minimal CRDs for prometheus-operator's kinds (preserve-unknown-fields): enough to dry-run ours. */
export function monitoringStubCrds(): Manifest[] {
  const crd = (kind: string, plural: string): Manifest => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.monitoring.coreos.com` },
    spec: {
      group: 'monitoring.coreos.com',
      scope: 'Namespaced',
      names: { kind, plural, singular: kind.toLowerCase(), listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          },
        },
      ],
    },
  });
  return [crd('ServiceMonitor', 'servicemonitors'), crd('PrometheusRule', 'prometheusrules')];
}

/** Applies CRDs for real and waits until each is Established and served. */
export async function installCrdManifests(api: RawApi, crds: readonly Manifest[]): Promise<void> {
  for (const crd of crds) await api.apply(crd);
  for (const crd of crds) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const current = (await api.get(crd)) as { status?: { conditions?: { type: string; status: string }[] } };
      if (current?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${crd.metadata.name} not Established`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  api.rediscover();
  // Established can precede discovery: wait until each kind is served.
  for (const crd of crds) {
    const spec = crd['spec'] as { group: string; names: { kind: string }; versions: { name: string }[] };
    const probe: Manifest = {
      apiVersion: `${spec.group}/${spec.versions[0]!.name}`,
      kind: spec.names.kind,
      metadata: { name: 'probe', namespace: 'default' },
    };
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        await api.path(probe);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        api.rediscover();
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }
}

/** Apply order: what others depend on first (namespaces, CRDs, accounts, RBAC, config), workloads last. */
export function applyOrder(objects: readonly Manifest[]): Manifest[] {
  const rank = (o: Manifest): number => {
    const order = [
      'Namespace',
      'CustomResourceDefinition',
      'ServiceAccount',
      'Secret',
      'ConfigMap',
      'ClusterRole',
      'ClusterRoleBinding',
      'Role',
      'RoleBinding',
      'PersistentVolumeClaim',
      'Service',
    ];
    const i = order.indexOf(o.kind);
    return i === -1 ? order.length : i;
  };
  return [...objects].sort((a, b) => rank(a) - rank(b));
}

// envtest in TypeScript (design: shared/design/kubernetes.md §2): a real etcd + kube-apiserver on
// loopback, an admin token in system:masters, RBAC on, a kubeconfig file for child processes,
// CRD installation, and ServiceAccount tokens from TokenRequest. No kubelet, no controllers.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  loadAllYaml,
  type KubernetesObject,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { freePorts, isAddressInUse, LOOPBACK, retry } from './ports.js';
import { registerTempDir, removeTempDir, spawnProcess, waitUntil, type ManagedProcess } from './process.js';

export const DEFAULT_KUBERNETES_VERSION = '1.37.2';
const BUILD_SCRIPT = 'scripts/build-envtest.sh';
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Field manager for everything the harness applies. */
export const HARNESS_FIELD_MANAGER = 'cra-e2e-harness';

// ---- binaries --------------------------------------------------------------------------------

export interface ControlPlaneBinaries {
  kubeApiserver: string;
  etcd: string;
  /** Present when found; the harness itself does not need it. */
  kubectl?: string;
  /** Present when found beside the others (scripts/build-envtest.sh builds it). */
  helm?: string;
}

export class ControlPlaneBinariesMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlPlaneBinariesMissingError';
  }
}

function goArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch;
}

/** `.cache/envtest/<version>-<os>-<arch>` (or under `$ENVTEST_CACHE`), where scripts/build-envtest.sh puts them. */
export function defaultAssetsDir(kubernetesVersion = DEFAULT_KUBERNETES_VERSION): string {
  const cache = process.env['ENVTEST_CACHE'] ?? join(REPO_ROOT, '.cache', 'envtest');
  return join(cache, `${kubernetesVersion}-${process.platform}-${goArch()}`);
}

/**
 * Finds a binary the way controller-runtime's envtest does: `TEST_ASSET_<NAME>` (upper case, `-` → `_`),
 * else `$KUBEBUILDER_ASSETS/<name>`, else the build script's cache directory.
 */
function lookup(name: string, kubernetesVersion: string): { path?: string; tried: string } {
  const variable = `TEST_ASSET_${name.toUpperCase().replaceAll('-', '_')}`;
  const override = process.env[variable];
  if (override !== undefined && override !== '') {
    return { path: existsSync(override) ? override : undefined, tried: `${variable}=${override}` };
  }
  const assets = process.env['KUBEBUILDER_ASSETS'];
  const dir = assets !== undefined && assets !== '' ? assets : defaultAssetsDir(kubernetesVersion);
  const candidate = join(dir, name);
  const source = assets !== undefined && assets !== '' ? 'KUBEBUILDER_ASSETS' : 'build cache';
  return { path: existsSync(candidate) ? candidate : undefined, tried: `${candidate} (${source})` };
}

export function findControlPlaneBinaries(kubernetesVersion = DEFAULT_KUBERNETES_VERSION): ControlPlaneBinaries {
  const apiserver = lookup('kube-apiserver', kubernetesVersion);
  const etcd = lookup('etcd', kubernetesVersion);
  if (apiserver.path === undefined || etcd.path === undefined) {
    const missing = [apiserver, etcd].filter((b) => b.path === undefined).map((b) => `  not found: ${b.tried}`);
    throw new ControlPlaneBinariesMissingError(
      `control-plane binaries missing:\n${missing.join('\n')}\n` +
        `Build them with ${BUILD_SCRIPT} (or \`make envtest\`) and/or export KUBEBUILDER_ASSETS=<dir with ` +
        `kube-apiserver, etcd, kubectl>; per-binary overrides: TEST_ASSET_KUBE_APISERVER, TEST_ASSET_ETCD.`,
    );
  }
  const kubectl = lookup('kubectl', kubernetesVersion).path;
  const helm = lookup('helm', kubernetesVersion).path;
  return {
    kubeApiserver: apiserver.path,
    etcd: etcd.path,
    ...(kubectl === undefined ? {} : { kubectl }),
    ...(helm === undefined ? {} : { helm }),
  };
}

export function controlPlaneBinariesAvailable(kubernetesVersion = DEFAULT_KUBERNETES_VERSION): boolean {
  try {
    findControlPlaneBinaries(kubernetesVersion);
    return true;
  } catch {
    return false;
  }
}

// ---- options and handle ----------------------------------------------------------------------

export interface ControlPlaneOptions {
  kubernetesVersion?: string;
  /** Use `$KUBECONFIG` instead of starting processes. Default: `USE_EXISTING_CLUSTER=true`. */
  useExistingCluster?: boolean;
  /** Stream etcd and apiserver output. Default: `KUBEBUILDER_ATTACH_CONTROL_PLANE_OUTPUT=true`. */
  attachOutput?: boolean;
  /** Until `/readyz` is 200. Default `KUBEBUILDER_CONTROLPLANE_START_TIMEOUT` or 60 s. */
  startTimeoutMs?: number;
  /** Per process, SIGTERM → SIGKILL. Default `KUBEBUILDER_CONTROLPLANE_STOP_TIMEOUT` or 20 s. */
  stopTimeoutMs?: number;
  /** Whole-start attempts on port races. Default 3. */
  attempts?: number;
  /** Appended to the kube-apiserver flags (e.g. `--feature-gates=…`). */
  extraApiServerArgs?: string[];
  /** Directories of CRD YAML installed before `startControlPlane` resolves. */
  crdDirectories?: string[];
}

export interface ServiceAccountTokenOptions {
  /** Default 3600 (the apiserver's minimum is 600). */
  expirationSeconds?: number;
}

export interface ControlPlane {
  /** Admin (system:masters) client configuration. */
  readonly kubeConfig: KubeConfig;
  /** The admin kubeconfig as a file (0600), for child processes: operator, helm, kubectl. */
  readonly kubeconfigPath: string;
  /** `https://127.0.0.1:<port>` */
  readonly server: string;
  /** True when `USE_EXISTING_CLUSTER` made it reuse `$KUBECONFIG`; stop() then leaves the cluster alone. */
  readonly existingCluster: boolean;
  /** Absent for an existing cluster. */
  readonly binaries?: ControlPlaneBinaries;
  readonly etcdUrl?: string;
  /**
   * Applies every `.yaml`/`.yml`/`.json` document in each directory (server-side apply, CRDs first),
   * waits until each CRD is Established and its resources are served, and returns the CRD names.
   */
  installCrds(dirs: string | readonly string[]): Promise<string[]>;
  /** Ensures ServiceAccount `namespace/name` exists and returns a token for it from TokenRequest. */
  serviceAccountToken(
    namespace: string,
    name: string,
    audiences?: string[],
    options?: ServiceAccountTokenOptions,
  ): Promise<string>;
  /** A client configuration for the same server authenticating with `token`. */
  kubeConfigForToken(token: string, namespace?: string): KubeConfig;
  /** Writes `kubeConfig` as a kubeconfig file (0600) in the harness's temp dir; returns its path. */
  writeKubeconfig(kubeConfig: KubeConfig, fileName?: string): Promise<string>;
  /** Creates a namespace named `<prefix>-<random>` and returns the name (one per test: namespaces never finish deleting). */
  createNamespace(prefix?: string): Promise<string>;
  /** Captured output of etcd and kube-apiserver (empty for an existing cluster). */
  logs(): { etcd: string[]; apiserver: string[] };
  /** SIGTERM apiserver, then etcd (SIGKILL after the stop timeout); deletes the temp dirs. Idempotent. */
  stop(): Promise<void>;
}

// ---- helpers ---------------------------------------------------------------------------------

/** Go-style duration (`60s`, `1m30s`, `500ms`) or plain seconds, in milliseconds. */
export function parseDuration(text: string | undefined): number | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text.trim())) return Number(text) * 1000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text.trim();
  while (rest !== '') {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (match === null) throw new Error(`invalid duration ${JSON.stringify(text)}`);
    total += Number(match[1]) * (units[match[2] ?? 's'] ?? 1000);
    rest = rest.slice(match[0].length);
  }
  return total;
}

interface HttpsResult {
  status: number;
  body: string;
}

/** A GET over TLS to the harness's own apiserver (self-signed; loopback). */
function httpsGet(url: string, options: { ca?: Buffer; token?: string } = {}): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        timeout: 5_000,
        ...(options.ca ? { ca: options.ca } : { rejectUnauthorized: false }),
        headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return response.json();
}

function isApiStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

function kubeConfigFor(
  server: string,
  caData: string | undefined,
  user: { name: string; token: string },
  namespace?: string,
): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'envtest', server, ...(caData ? { caData } : { skipTLSVerify: true }) }],
    users: [user],
    contexts: [
      { name: `${user.name}@envtest`, cluster: 'envtest', user: user.name, ...(namespace ? { namespace } : {}) },
    ],
    currentContext: `${user.name}@envtest`,
  });
  return kc;
}

// ---- start -----------------------------------------------------------------------------------

interface Started {
  dir: string;
  etcd: ManagedProcess;
  apiserver: ManagedProcess;
  etcdUrl: string;
  server: string;
  caData: string;
  adminToken: string;
}

async function startProcesses(
  binaries: ControlPlaneBinaries,
  options: Required<
    Pick<ControlPlaneOptions, 'startTimeoutMs' | 'stopTimeoutMs' | 'attachOutput' | 'extraApiServerArgs'>
  >,
): Promise<Started> {
  const [etcdPort, etcdPeerPort, apiPort] = (await freePorts(3)) as [number, number, number];
  const dir = await mkdtemp(join(tmpdir(), 'cra-envtest-'));
  registerTempDir(dir);
  const etcdDir = join(dir, 'etcd');
  const certDir = join(dir, 'certs');
  await mkdir(certDir, { recursive: true });
  let etcd: ManagedProcess | undefined;
  let apiserver: ManagedProcess | undefined;
  try {
    // 1. etcd, no TLS.
    const etcdUrl = `http://${LOOPBACK}:${etcdPort}`;
    etcd = spawnProcess({
      name: 'etcd',
      command: binaries.etcd,
      args: [
        `--data-dir=${etcdDir}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://${LOOPBACK}:${etcdPeerPort}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      cwd: dir,
      attachOutput: options.attachOutput,
    });
    const etcdProcess = etcd;
    await waitUntil(
      async () => {
        const health = (await getJson(`${etcdUrl}/health`)) as { health?: unknown };
        return health.health === 'true';
      },
      { description: `etcd ${etcdUrl}/health`, timeoutMs: options.startTimeoutMs, process: etcdProcess },
    );

    // 2. Service-account signing keys (PKCS#8 / SPKI PEM) and the admin token.
    const keys = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    const saKey = join(dir, 'sa.key');
    const saPub = join(dir, 'sa.pub');
    await writeFile(saKey, keys.privateKey, { mode: 0o600 });
    await writeFile(saPub, keys.publicKey);
    const adminToken = randomBytes(32).toString('hex');
    const tokenFile = join(dir, 'tokens.csv');
    await writeFile(tokenFile, `${adminToken},envtest-admin,envtest-admin,"system:masters"\n`, { mode: 0o600 });

    // 3. kube-apiserver.
    const server = `https://${LOOPBACK}:${apiPort}`;
    apiserver = spawnProcess({
      name: 'kube-apiserver',
      command: binaries.kubeApiserver,
      args: [
        `--etcd-servers=${etcdUrl}`,
        `--cert-dir=${certDir}`,
        `--secure-port=${apiPort}`,
        `--bind-address=${LOOPBACK}`,
        `--advertise-address=${LOOPBACK}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--allow-privileged=true',
        '--disable-admission-plugins=ServiceAccount',
        '--authorization-mode=RBAC',
        `--service-account-issuer=${server}/`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        `--token-auth-file=${tokenFile}`,
        // v1.37 refuses a loopback advertise address for the `kubernetes` Service endpoints
        // ("may not be in the loopback range"); with no kubelet or pods nobody reads them.
        '--endpoint-reconciler-type=none',
        ...options.extraApiServerArgs,
      ],
      cwd: dir,
      attachOutput: options.attachOutput,
    });
    const apiProcess = apiserver;
    // /readyz covers the post-start hooks (RBAC bootstrap roles) that non-admin users depend on.
    await waitUntil(async () => (await httpsGet(`${server}/readyz`)).status === 200, {
      description: `kube-apiserver ${server}/readyz`,
      timeoutMs: options.startTimeoutMs,
      intervalMs: 200,
      process: apiProcess,
    });

    // 4. Trust the certificate the apiserver made for itself under --cert-dir.
    const ca = await readFile(join(certDir, 'apiserver.crt'));
    await httpsGet(`${server}/readyz`, { ca }); // throws if the chain or the IP SAN does not verify
    return { dir, etcd, apiserver, etcdUrl, server, caData: ca.toString('base64'), adminToken };
  } catch (error) {
    await apiserver?.stop({ timeoutMs: options.stopTimeoutMs });
    await etcd?.stop({ timeoutMs: options.stopTimeoutMs });
    await removeTempDir(dir);
    throw error;
  }
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const useExisting = options.useExistingCluster ?? process.env['USE_EXISTING_CLUSTER'] === 'true';
  const plane = useExisting ? await connectExisting() : await startLocal(options);
  if (options.crdDirectories && options.crdDirectories.length > 0) {
    try {
      await plane.installCrds(options.crdDirectories);
    } catch (error) {
      await plane.stop();
      throw error;
    }
  }
  return plane;
}

async function startLocal(options: ControlPlaneOptions): Promise<ControlPlane> {
  const binaries = findControlPlaneBinaries(options.kubernetesVersion);
  const settings = {
    startTimeoutMs:
      options.startTimeoutMs ?? parseDuration(process.env['KUBEBUILDER_CONTROLPLANE_START_TIMEOUT']) ?? 60_000,
    stopTimeoutMs:
      options.stopTimeoutMs ?? parseDuration(process.env['KUBEBUILDER_CONTROLPLANE_STOP_TIMEOUT']) ?? 20_000,
    attachOutput: options.attachOutput ?? process.env['KUBEBUILDER_ATTACH_CONTROL_PLANE_OUTPUT'] === 'true',
    extraApiServerArgs: options.extraApiServerArgs ?? [],
  };
  const started = await retry(() => startProcesses(binaries, settings), {
    attempts: options.attempts ?? 3,
    shouldRetry: isAddressInUse,
    onRetry: (error, attempt) =>
      process.stderr.write(`control-plane: start attempt ${attempt} hit a port race, retrying: ${String(error)}\n`),
  });

  const kubeConfig = kubeConfigFor(started.server, started.caData, {
    name: 'envtest-admin',
    token: started.adminToken,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await started.apiserver.stop({ timeoutMs: settings.stopTimeoutMs });
    await started.etcd.stop({ timeoutMs: settings.stopTimeoutMs });
    await removeTempDir(started.dir);
  };
  try {
    const core = kubeConfig.makeApiClient(CoreV1Api);
    await waitUntil(async () => (await core.readNamespace({ name: 'default' })).metadata?.name === 'default', {
      description: 'namespace "default"',
      timeoutMs: settings.startTimeoutMs,
      intervalMs: 100,
      process: started.apiserver,
    });
    const kubeconfigPath = join(started.dir, 'kubeconfig');
    await writeFile(kubeconfigPath, kubeConfig.exportConfig(), { mode: 0o600 });
    return makeHandle({
      kubeConfig,
      kubeconfigPath,
      server: started.server,
      caData: started.caData,
      existingCluster: false,
      binaries,
      etcdUrl: started.etcdUrl,
      dir: started.dir,
      logs: () => ({ etcd: started.etcd.logs(), apiserver: started.apiserver.logs() }),
      stop,
    });
  } catch (error) {
    await stop();
    throw error;
  }
}

async function connectExisting(): Promise<ControlPlane> {
  const path = process.env['KUBECONFIG'];
  if (path === undefined || path === '') {
    throw new Error('USE_EXISTING_CLUSTER=true needs KUBECONFIG to name the cluster to use');
  }
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null) throw new Error(`KUBECONFIG=${path} has no current cluster`);
  const dir = await mkdtemp(join(tmpdir(), 'cra-envtest-existing-'));
  registerTempDir(dir);
  return makeHandle({
    kubeConfig,
    kubeconfigPath: path.split(':')[0] ?? path,
    server: cluster.server,
    caData: cluster.caData ?? (cluster.caFile ? (await readFile(cluster.caFile)).toString('base64') : undefined),
    skipTLSVerify: cluster.skipTLSVerify,
    existingCluster: true,
    dir,
    logs: () => ({ etcd: [], apiserver: [] }),
    stop: () => removeTempDir(dir),
  });
}

// ---- the handle ------------------------------------------------------------------------------

interface HandleParts {
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  server: string;
  caData?: string;
  skipTLSVerify?: boolean;
  existingCluster: boolean;
  binaries?: ControlPlaneBinaries;
  etcdUrl?: string;
  dir: string;
  logs: () => { etcd: string[]; apiserver: string[] };
  stop: () => Promise<void>;
}

function makeHandle(parts: HandleParts): ControlPlane {
  const { kubeConfig } = parts;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const caData = parts.skipTLSVerify ? undefined : parts.caData;
  return {
    kubeConfig,
    kubeconfigPath: parts.kubeconfigPath,
    server: parts.server,
    existingCluster: parts.existingCluster,
    ...(parts.binaries ? { binaries: parts.binaries } : {}),
    ...(parts.etcdUrl ? { etcdUrl: parts.etcdUrl } : {}),
    installCrds: (dirs) => installCrds(kubeConfig, typeof dirs === 'string' ? [dirs] : dirs),
    async serviceAccountToken(namespace, name, audiences = [], options = {}) {
      try {
        await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name, namespace } } });
      } catch (error) {
        if (!isApiStatus(error, 409)) throw error;
      }
      const review = await core.createNamespacedServiceAccountToken({
        name,
        namespace,
        body: { spec: { audiences, expirationSeconds: options.expirationSeconds ?? 3600 } },
      });
      const token = review.status?.token;
      if (token === undefined || token === '')
        throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
      return token;
    },
    kubeConfigForToken: (token, namespace) =>
      kubeConfigFor(parts.server, caData, { name: `token-${randomBytes(3).toString('hex')}`, token }, namespace),
    async writeKubeconfig(kc, fileName) {
      const path = join(parts.dir, fileName ?? `kubeconfig-${randomBytes(4).toString('hex')}`);
      await writeFile(path, kc.exportConfig(), { mode: 0o600 });
      await chmod(path, 0o600);
      return path;
    },
    async createNamespace(prefix = 'test') {
      const name = `${prefix}-${randomBytes(4).toString('hex')}`;
      await core.createNamespace({ body: { metadata: { name } } });
      return name;
    },
    logs: parts.logs,
    stop: parts.stop,
  };
}

// ---- CRDs ------------------------------------------------------------------------------------

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

async function readManifests(dirs: readonly string[]): Promise<KubernetesObject[]> {
  const objects: KubernetesObject[] = [];
  for (const dir of dirs) {
    const files = (await readdir(dir)).filter((f) => MANIFEST_EXTENSIONS.has(extname(f))).sort();
    for (const file of files) {
      const docs = loadAllYaml(await readFile(join(dir, file), 'utf8')) as unknown[];
      for (const doc of docs) {
        if (doc === null || typeof doc !== 'object') continue;
        const object = doc as KubernetesObject;
        if (!object.apiVersion || !object.kind) {
          throw new Error(`${join(dir, file)}: a document without apiVersion/kind`);
        }
        objects.push(object);
      }
    }
  }
  return objects;
}

function isEstablished(crd: V1CustomResourceDefinition): boolean {
  return (crd.status?.conditions ?? []).some((c) => c.type === 'Established' && c.status === 'True');
}

async function installCrds(kubeConfig: KubeConfig, dirs: readonly string[]): Promise<string[]> {
  const objects = await readManifests(dirs);
  const isCrd = (o: KubernetesObject): boolean =>
    o.kind === 'CustomResourceDefinition' && (o.apiVersion ?? '').startsWith('apiextensions.k8s.io/');
  const crds = objects.filter(isCrd) as V1CustomResourceDefinition[];
  const others = objects.filter((o) => !isCrd(o));
  const client = KubernetesObjectApi.makeApiClient(kubeConfig);
  const apply = (object: KubernetesObject): Promise<KubernetesObject> =>
    client.patch(object, undefined, undefined, HARNESS_FIELD_MANAGER, true, PatchStrategy.ServerSideApply);

  for (const crd of crds) await apply(crd);

  const extensions = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  for (const crd of crds) {
    const name = crd.metadata?.name ?? '';
    await waitUntil(async () => isEstablished(await extensions.readCustomResourceDefinition({ name })), {
      description: `CRD ${name} to be Established`,
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    // Established can precede the handler: wait until each served version answers a list.
    for (const version of crd.spec.versions.filter((v) => v.served)) {
      await waitUntil(
        async () => {
          await custom.listClusterCustomObject({
            group: crd.spec.group,
            version: version.name,
            plural: crd.spec.names.plural,
            limit: 1,
          });
          return true;
        },
        { description: `${crd.spec.names.plural}.${crd.spec.group}/${version.name} to be served`, timeoutMs: 30_000 },
      );
    }
  }
  for (const object of others) await apply(object);
  return crds.map((crd) => crd.metadata?.name ?? '');
}

// The process harnesses themselves, against the real binaries.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ApiException,
  AuthenticationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  V1MicroTime,
} from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  controlPlaneBinariesAvailable,
  findControlPlaneBinaries,
  freePort,
  freePorts,
  redisPing,
  startControlPlane,
  startPostgres,
  startRedis,
  type ControlPlane,
  type PostgresInstance,
  type RedisInstance,
} from '../harness/index.js';

const run = promisify(execFile);

describe('ports', () => {
  it('hands out distinct loopback ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    expect(await freePort()).toBeGreaterThan(0);
  });
});

describe('redis harness', () => {
  let redis: RedisInstance;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it('answers PING on its loopback URL', async () => {
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(await redisPing(redis.port)).toBe('+PONG');
  });

  it('refuses connections after kill() and answers again after restart()', async () => {
    await redis.kill();
    await expect(redisPing(redis.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await redis.restart();
    expect(await redisPing(redis.port)).toBe('+PONG');
  });
});

describe('postgres harness', () => {
  let pg: PostgresInstance;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.stop();
  });

  it('creates a database and runs a query in it with psql', async () => {
    const url = await pg.createDatabase('harness_check');
    expect(url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/harness_check`);
    const { stdout } = await run(join(pg.binDir, 'psql'), ['-X', '-A', '-t', '-d', url, '-c', 'select 1']);
    expect(stdout.trim()).toBe('1');
    expect(await pg.psql('select current_database()', 'harness_check')).toBe('harness_check');
  });

  it('rejects database names that would need quoting', async () => {
    await expect(pg.createDatabase('x; drop database postgres')).rejects.toThrow(/invalid name/);
  });

  it('comes back after a crash with its data', async () => {
    await pg.psql('create table survivors (id int); insert into survivors values (7)');
    await pg.kill();
    await expect(pg.psql('select 1')).rejects.toThrow();
    await pg.restart();
    expect(await pg.psql('select id from survivors')).toBe('7');
  });
});

const required =
  process.env['CRA_REQUIRE_CONTROL_PLANE'] !== undefined && process.env['CRA_REQUIRE_CONTROL_PLANE'] !== '';
const haveControlPlane = controlPlaneBinariesAvailable() || process.env['USE_EXISTING_CLUSTER'] === 'true';

const skipControlPlane = !haveControlPlane && !required;
const controlPlaneSuite = skipControlPlane
  ? 'control-plane harness — SKIPPED: kube-apiserver/etcd not found; run scripts/build-envtest.sh or set ' +
    'KUBEBUILDER_ASSETS (CRA_REQUIRE_CONTROL_PLANE=1 turns this skip into a failure)'
  : 'control-plane harness';

describe.skipIf(skipControlPlane)(controlPlaneSuite, () => {
  let plane: ControlPlane;
  let namespace: string;

  beforeAll(async () => {
    if (process.env['USE_EXISTING_CLUSTER'] !== 'true') findControlPlaneBinaries(); // names what is missing
    plane = await startControlPlane();
    namespace = await plane.createNamespace('harness');
  });
  afterAll(async () => {
    await plane?.stop();
  });

  it('serves the default namespace', async () => {
    const core = plane.kubeConfig.makeApiClient(CoreV1Api);
    const ns = await core.readNamespace({ name: 'default' });
    expect(ns.metadata?.name).toBe('default');
  });

  it('writes a kubeconfig file that a separate client can use', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(plane.kubeconfigPath);
    const core = kc.makeApiClient(CoreV1Api);
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).toContain(namespace);
  });

  it('creates and reads back a ConfigMap', async () => {
    const core = plane.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'settings' }, data: { mode: 'enforce' } },
    });
    const read = await core.readNamespacedConfigMap({ name: 'settings', namespace });
    expect(read.data).toEqual({ mode: 'enforce' });
  });

  it('issues ServiceAccount tokens that authenticate but get 403 without RBAC', async () => {
    const token = await plane.serviceAccountToken(namespace, 'runner');
    const kc = plane.kubeConfigForToken(token);
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${namespace}:runner`);

    const denied = await kc
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({ namespace })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(denied).toBeInstanceOf(ApiException);
    expect((denied as ApiException<unknown>).code).toBe(403);
  });

  it('stores a Lease whose MicroTime has six fractional digits', async () => {
    const coordination = plane.kubeConfig.makeApiClient(CoordinationV1Api);
    const now = new V1MicroTime();
    await coordination.createNamespacedLease({
      namespace,
      body: {
        metadata: { name: 'cra-operator' },
        spec: {
          holderIdentity: 'harness',
          leaseDurationSeconds: 15,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        },
      },
    });
    const lease = await coordination.readNamespacedLease({ name: 'cra-operator', namespace });
    expect(lease.spec?.holderIdentity).toBe('harness');
    // client-node 2.0.1 types renewTime as a Date but hands back the wire string: compare by value.
    const renewTime: unknown = lease.spec?.renewTime;
    expect(String(renewTime instanceof Date ? renewTime.toISOString() : renewTime)).toMatch(/\.\d{6}Z$/);
    expect(new Date(renewTime as string).getTime()).toBe(now.getTime());
    expect(now.toISOString()).toMatch(/\.\d{6}Z$/);
  });

  it('installs CRDs from a directory and serves their resources', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cra-crds-'));
    try {
      await writeFile(join(dir, 'widgets.yaml'), WIDGET_CRD);
      await writeFile(join(dir, 'README.txt'), 'not a manifest');
      const names = await plane.installCrds(dir);
      expect(names).toEqual(['widgets.harness.cra.dev']);
      const custom = plane.kubeConfig.makeApiClient(CustomObjectsApi);
      await custom.createNamespacedCustomObject({
        group: 'harness.cra.dev',
        version: 'v1alpha1',
        namespace,
        plural: 'widgets',
        body: { apiVersion: 'harness.cra.dev/v1alpha1', kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
      });
      const rejected = await custom
        .createNamespacedCustomObject({
          group: 'harness.cra.dev',
          version: 'v1alpha1',
          namespace,
          plural: 'widgets',
          body: { apiVersion: 'harness.cra.dev/v1alpha1', kind: 'Widget', metadata: { name: 'w2' }, spec: { size: 0 } },
        })
        .then(
          () => undefined,
          (error: unknown) => error,
        );
      expect((rejected as ApiException<unknown>).code).toBe(422);
      // Applying the same directory again is a no-op, not a conflict.
      expect(await plane.installCrds([dir])).toEqual(['widgets.harness.cra.dev']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const WIDGET_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.harness.cra.dev
spec:
  group: harness.cra.dev
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget, listKind: WidgetList }
  versions:
    - name: v1alpha1
      served: true
      storage: true
      subresources: { status: {} }
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [size]
              properties:
                size: { type: integer, minimum: 1 }
`;

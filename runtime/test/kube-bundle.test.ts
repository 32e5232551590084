/**
 * The runtime side of the operator (issue "Runtime side"): a runtime pod loads the bundle the
 * operator publishes in ConfigMaps, watching the real API; new versions apply live and
 * atomically; a broken version is rejected and the last good one keeps serving.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { encodeBundle, type RuntimeBundle } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  controlPlaneBinariesAvailable,
  startControlPlane,
  type ControlPlane,
} from '../../e2e/harness/control-plane.js';
import { buildLocalBundle } from '../src/bundle/local-sources.js';
import { BUNDLE_LABEL } from '../src/bundle/kube-source.js';
import type { Runtime } from '../src/runtime.js';
import { auth, repo, resolveRequest, testRuntime } from './helpers/runtime.js';

const required = process.env.CRA_REQUIRE_CONTROL_PLANE === '1';
const available = controlPlaneBinariesAvailable();

describe.skipIf(!available && !required)('bundle from Kubernetes ConfigMaps', () => {
  let cp: ControlPlane;
  let api: CoreV1Api;
  let namespace: string;

  beforeAll(async () => {
    cp = await startControlPlane();
    api = cp.kubeConfig.makeApiClient(CoreV1Api);
    namespace = await cp.createNamespace('cra-bundle');
  }, 120_000);
  afterAll(async () => cp?.stop());

  async function publish(name: string, bundle: RuntimeBundle, maxBytes?: number): Promise<void> {
    for (const part of encodeBundle(bundle, maxBytes)) {
      await api.patchNamespacedConfigMap(
        {
          namespace,
          name: `${name}${part.suffix}`,
          fieldManager: 'test',
          force: true,
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `${name}${part.suffix}`, namespace, labels: { [BUNDLE_LABEL]: name } },
            ...(part.data ? { data: part.data } : {}),
            ...(part.binaryData ? { binaryData: part.binaryData } : {}),
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    }
  }

  async function until(rt: Runtime, version: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if (rt.cra.bundles.current.version === version) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`bundle ${version} never served (serving ${rt.cra.bundles.current.version})`);
  }

  it('starts not ready, serves the first published bundle, then every new version live', async () => {
    const name = 'cra-runtime-bundle';
    const rt = await testRuntime(
      { atlases: [], bundleConfigMap: `${namespace}/${name}` },
      { kubeConfig: cp.kubeConfig, bundleWaitMs: 500 },
    );
    try {
      expect((await rt.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503);
      const local = await buildLocalBundle({
        atlases: [repo('atlases/github-ops')],
        identities: [repo('examples/local/identities.yaml')],
        secretsDir: repo('examples/local/secrets'),
      });
      await publish(name, local.bundle);
      await until(rt, local.bundle.version);
      expect((await rt.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
      const ok = await rt.app.inject({
        method: 'POST',
        url: '/v1/resolve',
        headers: auth(),
        payload: resolveRequest({ risk: 'low' }),
      });
      expect(ok.statusCode, ok.body).toBe(200);

      // A second version, chunked (forced small objects), applies live.
      const two = await buildLocalBundle({
        atlases: [repo('atlases/github-ops'), repo('atlases/customer-support')],
        identities: [repo('examples/local/identities.yaml')],
        secretsDir: repo('examples/local/secrets'),
      });
      await publish(name, two.bundle, 20_000);
      await until(rt, two.bundle.version);
      const atlases = (await rt.app.inject({ method: 'GET', url: '/v1/atlases', headers: auth() })).json<{
        atlases: unknown[];
      }>();
      expect(atlases.atlases).toHaveLength(2);

      // A broken version is rejected; the last good one keeps serving.
      await api.patchNamespacedConfigMap(
        {
          namespace,
          name,
          fieldManager: 'test',
          force: true,
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name, namespace, labels: { [BUNDLE_LABEL]: name } },
            data: { 'bundle.json': '{"apiVersion":"cra.dev/v1alpha1","kind":"RuntimeBundle"}' },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
      await new Promise((r) => setTimeout(r, 1000));
      expect(rt.cra.bundles.current.version).toBe(two.bundle.version);
      expect(rt.problems().length).toBeGreaterThan(0);
    } finally {
      await rt.close();
    }
  }, 120_000);

  it('swaps bundles atomically under load: no request fails, each answer comes from one whole bundle', async () => {
    const name = 'live-bundle';
    const rt = await testRuntime(
      { atlases: [], bundleConfigMap: `${namespace}/${name}` },
      { kubeConfig: cp.kubeConfig, bundleWaitMs: 500 },
    );
    try {
      const build = async (atlases: string[]) =>
        (
          await buildLocalBundle({
            atlases: atlases.map((a) => repo(`atlases/${a}`)),
            identities: [repo('examples/local/identities.yaml')],
            secretsDir: repo('examples/local/secrets'),
          })
        ).bundle;
      const bundles = [
        await build(['github-ops']),
        await build(['github-ops', 'customer-support']),
        await build(['github-ops', 'cluster-ops']),
      ];
      const refs = new Map(bundles.map((b) => [b.version, new Set(b.atlases.map((a) => a.ref))]));
      expect(refs.size).toBe(3);
      await publish(name, bundles[0]!);
      await until(rt, bundles[0]!.version);

      let loading = true;
      const answers: { status: number; body: string }[] = [];
      const worker = async () => {
        while (loading) {
          const res = await rt.app.inject({
            method: 'POST',
            url: '/v1/resolve',
            headers: auth(),
            payload: resolveRequest({ risk: 'low', hints: ['github.issues'] }),
          });
          answers.push({ status: res.statusCode, body: res.body });
        }
      };
      const workers = Array.from({ length: 6 }, worker);
      for (const i of [1, 2, 1, 2, 0, 1]) {
        const before = answers.length;
        await publish(name, bundles[i]!, i === 2 ? 20_000 : undefined);
        await until(rt, bundles[i]!.version);
        while (answers.length < before + 20) await new Promise((r) => setTimeout(r, 5));
      }
      loading = false;
      await Promise.all(workers);

      const served = new Set<string>();
      for (const answer of answers) {
        expect(answer.status, answer.body).toBe(200);
        const resolution = JSON.parse(answer.body) as { bundle_version: string };
        const atlases = refs.get(resolution.bundle_version);
        expect(atlases, `unknown bundle ${resolution.bundle_version}`).toBeDefined();
        for (const [, ref] of answer.body.matchAll(/"atlas_ref":"([^"]+)"/g)) expect(atlases!.has(ref!)).toBe(true);
        served.add(resolution.bundle_version);
      }
      expect(served.size).toBe(3);

      const current = bundles[1]!.version;
      const ready = (await rt.app.inject({ method: 'GET', url: '/readyz' })).json<{ bundle: { version: string } }>();
      expect(ready.bundle.version).toBe(current);
      const metrics = (await rt.app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toContain(`cra_bundle_info{version="${current}"} 1`);
      expect(metrics.match(/^cra_bundle_info\{/gm)).toHaveLength(1);
    } finally {
      await rt.close();
    }
  }, 120_000);
});

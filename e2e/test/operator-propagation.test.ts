/**
 * End to end, without a kubelet: a real kube-apiserver, the operator as a process, and two runtime
 * processes standing in for runtime pods (watching the bundle ConfigMap as pods would). Applying
 * a new Atlas version reaches every runtime replica and is served; the propagation times are
 * printed (bench/ reports their percentiles; tests assert behaviour, not speed).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneBinariesAvailable, startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { createApiKeyIdentity, referenceAtlasResource } from '../harness/cra-resources.js';
import { startOperatorProcess, type OperatorProcess } from '../harness/operator-process.js';
import { REPO_ROOT, startRuntimeProcess, type RuntimeProcess } from '../harness/runtime-process.js';

const required = process.env.CRA_REQUIRE_CONTROL_PLANE === '1';
const GROUP = { group: 'cra.dev', version: 'v1alpha1' };
const KEY = 'e2e-agent-key';

describe.skipIf(!controlPlaneBinariesAvailable() && !required)('apply → served on every runtime replica', () => {
  let cp: ControlPlane;
  let operator: OperatorProcess;
  const runtimes: RuntimeProcess[] = [];
  const temps: string[] = [];
  const system = 'cra-system';
  let team: string;

  beforeAll(async () => {
    cp = await startControlPlane({ crdDirectories: [`${REPO_ROOT}crds`] });
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    await core.createNamespace({ body: { metadata: { name: system } } });
    team = await cp.createNamespace('team');
    await createApiKeyIdentity(cp.kubeConfig, { namespace: team, name: 'e2e-agent', key: KEY });
    await custom.createNamespacedCustomObject({
      ...GROUP,
      namespace: team,
      plural: 'atlases',
      body: await referenceAtlasResource('github-ops', { namespace: team }),
    });
    operator = await startOperatorProcess({
      name: 'operator',
      kubeconfigPath: cp.kubeconfigPath,
      env: { CRA_OPERATOR_NAMESPACE: system, CRA_LEADER_ELECTION: 'false', CRA_LOG_LEVEL: 'warn' },
    });
    for (const i of [0, 1]) {
      const dataDir = await mkdtemp(join(tmpdir(), 'cra-pod-'));
      temps.push(dataDir);
      runtimes.push(
        await startRuntimeProcess({
          name: `runtime-${i}`,
          env: {
            KUBECONFIG: cp.kubeconfigPath,
            CRA_BUNDLE_CONFIGMAP: `${system}/cra-runtime-bundle`,
            CRA_DATA_DIR: dataDir,
            CRA_INSTANCE_ID: `runtime-${i}`,
          },
        }),
      );
    }
  }, 240_000);

  afterAll(async () => {
    await Promise.all(runtimes.map((r) => r.stop()));
    await operator?.stop();
    await cp?.stop();
    for (const d of temps) await rm(d, { recursive: true, force: true });
  });

  const served = async (r: RuntimeProcess): Promise<string[]> => {
    const res = await fetch(`${r.url}/v1/atlases`, { headers: { authorization: `Bearer ${KEY}` } });
    if (res.status !== 200) return [];
    return ((await res.json()) as { atlases: { ref: string }[] }).atlases.map((a) => a.ref);
  };

  it('serves the Atlas on every replica, then each new version within moments of the apply', async () => {
    const custom = cp.kubeConfig.makeApiClient(CustomObjectsApi);
    const first = `${team}/github-ops@1.0.0`;
    for (let i = 0; i < 300; i++) {
      if ((await Promise.all(runtimes.map(served))).every((refs) => refs.includes(first))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await Promise.all(runtimes.map(served))).every((refs) => refs.includes(first))).toBe(true);

    const times: number[] = [];
    for (let minor = 1; minor <= 5; minor++) {
      const version = `1.${minor}.0`;
      const started = performance.now();
      await custom.patchNamespacedCustomObject(
        { ...GROUP, namespace: team, plural: 'atlases', name: 'github-ops', body: { spec: { version } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      const ref = `${team}/github-ops@${version}`;
      let everywhere = false;
      for (let i = 0; i < 600 && !everywhere; i++) {
        everywhere = (await Promise.all(runtimes.map(served))).every((refs) => refs.includes(ref));
        if (!everywhere) await new Promise((r) => setTimeout(r, 20));
      }
      expect(everywhere, `${ref} never reached every replica`).toBe(true);
      times.push(performance.now() - started);
    }
    process.stderr.write(`apply → served on 2 replicas (ms): ${times.map((t) => t.toFixed(0)).join(', ')}\n`);
    // And the served version resolves for a real agent.
    const res = await fetch(`${runtimes[1]!.url}/v1/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        carp_version: '1.0',
        request_id: '018f6b1c-0000-7000-8000-0000000000a1',
        timestamp: new Date().toISOString(),
        operation: 'resolve',
        requester: { agent_id: 'e2e-agent', session_id: '018f6b1c-0000-7000-8000-000000000077' },
        task: { goal: 'open an issue', risk_tier: 'low', context_hints: ['github.issues'] },
      }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { context_blocks: { atlas_ref: string }[] };
    expect(body.context_blocks[0]!.atlas_ref).toBe(`${team}/github-ops@1.5.0`);
  }, 180_000);
});

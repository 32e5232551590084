/**
 * Keeps the runtime workload as configured: server-side applies every object (complete desired
 * state each time, so manual drift is undone) and deletes optional ones that were turned off.
 */
import type { RuntimeWorkloadConfig } from '../config.js';
import { apply, type Owner } from '../k8s/apply.js';
import { statusOf, type Clients } from '../k8s/clients.js';
import { runtimeObjects } from '../workload/runtime-objects.js';

export const RUNTIME_KEY = 'runtime';

export class RuntimeController {
  constructor(
    private readonly c: Clients,
    private readonly input: {
      namespace: string;
      bundleConfigMap: string;
      owner?: Owner;
      config: RuntimeWorkloadConfig;
    },
  ) {}

  async reconcile(signal: AbortSignal): Promise<void> {
    if (!this.input.config.enabled) return;
    const { apply: desired, remove } = runtimeObjects(this.input);
    for (const object of desired) {
      if (signal.aborted) return;
      await apply(this.c, object);
    }
    for (const gone of remove) {
      if (signal.aborted) return;
      await this.c.objects
        .delete({
          apiVersion: gone.apiVersion,
          kind: gone.kind,
          metadata: { name: gone.name, namespace: this.input.namespace },
        })
        .catch((err: unknown) => {
          if (statusOf(err) !== 404) throw err;
        });
    }
  }
}

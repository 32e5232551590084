/**
 * The `cra.dev/bundle` finalizer: a resource leaves the cluster only after the bundle that no
 * longer contains it is published. Owned by its own field manager through server-side apply, so
 * adding and removing it never touches anyone else's finalizers.
 */
import type { Kind } from '../compile/gather.js';
import { apply } from './apply.js';
import type { Clients } from './clients.js';
import { API_VERSION, FINALIZER, FINALIZER_FIELD_MANAGER } from './constants.js';

export async function setFinalizer(
  c: Clients,
  kind: Kind,
  namespace: string,
  name: string,
  present: boolean,
): Promise<void> {
  await apply(
    c,
    { apiVersion: API_VERSION, kind, metadata: { name, namespace, finalizers: present ? [FINALIZER] : [] } },
    FINALIZER_FIELD_MANAGER,
  );
}

/**
 * Server-side apply with the operator's field manager: always the complete set of fields the
 * operator owns (fields it stops sending are removed), force for what it must own.
 */
import { PatchStrategy, type KubernetesObject, type V1OwnerReference } from '@kubernetes/client-node';
import type { Clients } from './clients.js';
import { FIELD_MANAGER } from './constants.js';

export async function apply<T extends KubernetesObject>(
  c: Clients,
  object: T,
  fieldManager = FIELD_MANAGER,
): Promise<T> {
  return c.objects.patch(object, undefined, undefined, fieldManager, true, PatchStrategy.ServerSideApply);
}

export interface Owner {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export function ownerReferences(owner: Owner | undefined): { ownerReferences?: V1OwnerReference[] } {
  return owner
    ? {
        ownerReferences: [
          {
            apiVersion: owner.apiVersion,
            kind: owner.kind,
            name: owner.name,
            uid: owner.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      }
    : {};
}

/**
 * Kubernetes Events for notable transitions (published, rejected, bundle published). Best
 * effort: an Event that cannot be written never fails a reconcile.
 */
import type { Clients } from './clients.js';
import { MANAGED_BY } from './constants.js';

export interface Involved {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
}

export interface EventRecorder {
  record(object: Involved, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export function eventRecorder(c: Clients, instance: string): EventRecorder {
  return {
    async record(object, type, reason, message) {
      const now = new Date();
      const name = `${object.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`;
      await c.core
        .createNamespacedEvent({
          namespace: object.namespace,
          body: {
            metadata: { name, namespace: object.namespace },
            involvedObject: object,
            type,
            reason,
            message: message.slice(0, 1024),
            source: { component: MANAGED_BY, host: instance },
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
            reportingComponent: MANAGED_BY,
            reportingInstance: instance,
          },
        })
        .catch(() => undefined);
    },
  };
}

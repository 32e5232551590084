/**
 * Leadership transitions as core/v1 Events on the Lease, as client-go's `LeaseLock.RecordEvent` makes
 * them: reason `LeaderElection`, message `<identity> became leader` / `<identity> stopped leading`.
 * Best effort: a failure is logged and never affects the election. RBAC: `events` `create`.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { LeaderEventRecorder, LeaderTransition } from './elector.js';

export const LEADER_ELECTION_EVENT_REASON = 'LeaderElection';

export interface LeaseEventRecorderOptions {
  namespace: string;
  /** The Lease's name. */
  name: string;
  /** `source.component` / `reportingComponent`, e.g. `cra-operator`. */
  component: string;
  logger?: Logger;
}

export type EventApi = Pick<CoreV1Api, 'createNamespacedEvent'>;

export function leaseEventRecorder(
  api: EventApi | KubeConfig,
  options: LeaseEventRecorderOptions,
): LeaderEventRecorder {
  const events: EventApi = 'makeApiClient' in api ? api.makeApiClient(CoreV1Api) : api;
  return {
    record(transition: LeaderTransition, identity: string) {
      const now = new Date();
      events
        .createNamespacedEvent({
          namespace: options.namespace,
          body: {
            metadata: {
              name: `${options.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`,
              namespace: options.namespace,
            },
            involvedObject: {
              apiVersion: 'coordination.k8s.io/v1',
              kind: 'Lease',
              name: options.name,
              namespace: options.namespace,
            },
            reason: LEADER_ELECTION_EVENT_REASON,
            message: `${identity} ${transition}`,
            type: 'Normal',
            source: { component: options.component },
            reportingComponent: options.component,
            reportingInstance: identity.slice(0, 128),
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        })
        .catch((error: unknown) => {
          options.logger?.warn(
            { err: error instanceof Error ? error.message : String(error) },
            'could not record a leader election Event',
          );
        });
    },
  };
}

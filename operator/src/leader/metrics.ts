/**
 * The leader gauge (CRA-SPEC §10): `cra_leader{identity}` is 1 while this process leads, else 0.
 * The elector calls a `LeaderMetrics`; `prometheusLeaderMetrics` puts it on a prom-client Registry.
 */
import { Gauge, type Registry } from 'prom-client';

export const LEADER_METRIC = 'cra_leader';
export const LEADER_METRIC_HELP = 'Whether this operator instance holds the leader Lease (1) or not (0)';

export interface LeaderMetrics {
  /** Called with false when the elector starts, true on acquisition, false on loss or stop. */
  setLeader(identity: string, leading: boolean): void;
}

export const noLeaderMetrics: LeaderMetrics = { setLeader: () => undefined };

/** `cra_leader{identity}` on `registry` (reused when already registered there). */
export function prometheusLeaderMetrics(registry: Registry): LeaderMetrics {
  const existing = registry.getSingleMetric(LEADER_METRIC);
  const gauge =
    existing instanceof Gauge
      ? (existing as Gauge<'identity'>)
      : new Gauge({ name: LEADER_METRIC, help: LEADER_METRIC_HELP, labelNames: ['identity'], registers: [registry] });
  return {
    setLeader(identity, leading) {
      gauge.set({ identity }, leading ? 1 : 0);
    },
  };
}

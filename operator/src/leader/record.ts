/**
 * The leader election record (client-go `resourcelock.LeaderElectionRecord`) as stored in a Lease's
 * `spec`, and the Lease `MicroTime` wire format.
 *
 * Timestamps are kept as the exact wire strings (`2006-01-02T15:04:05.000000Z`): the apiserver
 * rejects anything but six fractional digits, and a time written by another client (client-go writes
 * real microseconds) must go back unchanged when the holder keeps its `acquireTime`.
 */
import { V1MicroTime } from '@kubernetes/client-node';

export interface LeaderElectionRecord {
  /** Empty when nobody holds the lease (after a release). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  /** MicroTime wire string, six fractional digits. */
  acquireTime?: string;
  /** MicroTime wire string, six fractional digits. */
  renewTime?: string;
  leaseTransitions: number;
  /** Read and compared, never written by this elector (client-go's desired record leaves them empty too). */
  strategy?: string;
  preferredHolder?: string;
}

/** `YYYY-MM-DDTHH:MM:SS.ffffffZ`: what the apiserver accepts for a MicroTime. */
export const MICRO_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Formats epoch milliseconds as a MicroTime wire string (six fractional digits). */
export function formatMicroTime(epochMs: number): string {
  return new V1MicroTime(epochMs).toISOString();
}

/**
 * A `V1MicroTime` that serialises to exactly the wire string it was made from. client-node 2.0.1
 * passes MicroTime values through untouched and `JSON.stringify` calls `toISOString()`, so the
 * string reaches the apiserver byte for byte (microseconds included).
 */
export class WireMicroTime extends V1MicroTime {
  readonly wire: string;

  constructor(wire: string) {
    super(Date.parse(wire));
    this.wire = wire;
  }

  override toISOString(): string {
    return this.wire;
  }
}

/**
 * A MicroTime as client-node hands it back. 2.0.1 types it as a Date but returns the raw wire string
 * (the type is missing from its serializer's type map); accept both, and anything else as absent.
 */
export function microTimeFromWire(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (value instanceof WireMicroTime) return value.wire;
  if (value instanceof Date && !Number.isNaN(value.getTime())) return formatMicroTime(value.getTime());
  return undefined;
}

/**
 * The record's canonical bytes. client-go compares the raw JSON of the record it read with the one it
 * observed last (`bytes.Equal(observedRawRecord, rawRecord)`) to decide whether the holder did
 * anything since; this is the same comparison, by value, with a fixed key order.
 */
export function rawRecord(record: LeaderElectionRecord): string {
  return JSON.stringify([
    record.holderIdentity,
    record.leaseDurationSeconds,
    record.acquireTime ?? null,
    record.renewTime ?? null,
    record.leaseTransitions,
    record.strategy ?? null,
    record.preferredHolder ?? null,
  ]);
}

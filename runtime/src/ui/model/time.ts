/**
 * The timeline's time axis: where an instant falls between the first and the last event, tick
 * marks, and short labels for offsets and durations. Pure (no DOM).
 */

export interface TimeScale {
  start: number;
  end: number;
  /** 0 at the first event, 1 at the last; 0 for all when they share one instant. */
  position(time: number): number;
  ticks(count: number): { position: number; label: string }[];
}

export function timeScale(times: readonly number[]): TimeScale {
  const finite = times.filter(Number.isFinite);
  const start = finite.length > 0 ? Math.min(...finite) : 0;
  const end = finite.length > 0 ? Math.max(...finite) : 0;
  const span = end - start;
  const position = (time: number): number =>
    span <= 0 || !Number.isFinite(time) ? 0 : Math.min(1, Math.max(0, (time - start) / span));
  return {
    start,
    end,
    position,
    ticks(count) {
      if (span <= 0) return [{ position: 0, label: formatOffset(0) }];
      return Array.from({ length: count + 1 }, (_, i) => ({
        position: i / count,
        label: formatOffset((span * i) / count),
      }));
    },
  };
}

/** `+0 ms`, `+350 ms`, `+2.41 s`, `+3 min 05 s`. */
export function formatOffset(ms: number): string {
  return `+${formatDuration(ms)}`;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  if (minutes < 60) return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

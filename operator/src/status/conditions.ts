/**
 * metav1.Condition math: `lastTransitionTime` changes only when `status` flips; a status write
 * happens only when something the user can see changed (no churn from our own writes).
 */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export function setCondition(
  existing: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: string,
): Condition[] {
  const list = [...(existing ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const previous = i === -1 ? undefined : list[i];
  const condition: Condition = {
    ...next,
    message: next.message.slice(0, 32_768),
    lastTransitionTime: previous && previous.status === next.status ? previous.lastTransitionTime : now,
  };
  if (i === -1) list.push(condition);
  else list[i] = condition;
  return list;
}

/** Equal for the purpose of "does the status need writing". */
export function sameConditions(a: readonly Condition[] | undefined, b: readonly Condition[]): boolean {
  if ((a?.length ?? 0) !== b.length) return false;
  return b.every((c) => {
    const o = a?.find((x) => x.type === c.type);
    return (
      o !== undefined &&
      o.status === c.status &&
      o.reason === c.reason &&
      o.message === c.message &&
      o.observedGeneration === c.observedGeneration &&
      o.lastTransitionTime === c.lastTransitionTime
    );
  });
}

/**
 * CPU time of the service processes a benchmark starts (PostgreSQL with its backends, redis-server,
 * the executor's HTTP target), read from /proc, so a phase can report what each costs per request.
 * Linux only; elsewhere every reading is 0.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on every Linux this runs on

interface Proc {
  pid: number;
  ppid: number;
  /** utime + stime, ms. */
  cpuMs: number;
  cmdline: string[];
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command (field 2) may contain spaces; the fields after its closing ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(rest[1]);
    const cpuMs = (Number(rest[11]) + Number(rest[12])) * TICK_MS;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return { pid, ppid, cpuMs, cmdline };
  } catch {
    return undefined;
  }
}

function allProcs(): Proc[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
  return pids.map(readProc).filter((p): p is Proc => p !== undefined);
}

/** A group of processes: roots matched by their command line, plus their children. */
export interface ProcGroup {
  name: string;
  /** The root process's command line contains all of these arguments. */
  match: string[];
}

/** CPU ms used so far by each group (roots and their live children). */
export function groupCpuMs(groups: readonly ProcGroup[]): Record<string, number> {
  const procs = allProcs();
  const out: Record<string, number> = {};
  for (const group of groups) {
    const roots = procs.filter((p) => group.match.every((arg) => p.cmdline.some((c) => c.includes(arg))));
    const rootPids = new Set(roots.map((r) => r.pid));
    out[group.name] = procs.filter((p) => rootPids.has(p.pid) || rootPids.has(p.ppid)).reduce((n, p) => n + p.cpuMs, 0);
  }
  return out;
}

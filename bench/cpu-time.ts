import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Pool } from '../db/pool.js';

/** The unit of the times in /proc/<pid>/stat: Linux's USER_HZ, 100 on every mainstream kernel. */
const TICKS_PER_SECOND = 100;

/** What the bench reads of one /proc stat line. */
export interface ProcStat {
  comm: string;
  ppid: number;
  /** User + system CPU seconds of the process (all its threads, ended ones too) or of one thread. */
  cpu: number;
  /** User + system CPU seconds of its children that ended and were waited for. */
  reapedChildren: number;
}

/** One /proc/<pid>/stat (or task) line. The command name sits in parentheses and may itself hold spaces or ')'. */
export function parseProcStat(line: string): ProcStat {
  const close = line.lastIndexOf(')');
  const comm = line.slice(line.indexOf('(') + 1, close);
  // fields[0] is the stat's field 3 (state); man 5 proc numbers them from 1.
  const fields = line.slice(close + 2).trim().split(/\s+/).map(Number);
  const field = (n: number) => fields[n - 3] ?? NaN;
  return { comm, ppid: field(4), cpu: (field(14) + field(15)) / TICKS_PER_SECOND, reapedChildren: (field(16) + field(17)) / TICKS_PER_SECOND };
}

function readStat(file: string): ProcStat | null {
  try {
    return parseProcStat(fs.readFileSync(file, 'utf8'));
  } catch {
    return null; // gone, or not Linux
  }
}

/** Every live process's stat, by pid. */
function allProcesses(): Map<number, ProcStat> {
  const stats = new Map<number, ProcStat>();
  for (const entry of fs.existsSync('/proc') ? fs.readdirSync('/proc') : []) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(`/proc/${entry}/stat`);
    if (stat) stats.set(Number(entry), stat);
  }
  return stats;
}

/**
 * The CPU seconds of a process and its children, those still running and those that ended: a PostgreSQL
 * backend that exits between two readings moves from the first term into its postmaster's reaped children.
 */
function treeCpu(pid: number, processes: Map<number, ProcStat>): number | null {
  const root = processes.get(pid);
  if (!root) return null;
  let cpu = root.cpu + root.reapedChildren;
  for (const p of processes.values()) if (p.ppid === pid) cpu += p.cpu;
  return cpu;
}

/** The parts of a bench run whose CPU is counted. */
const PARTS = ['workerMain', 'workerOthers', 'postgres', 'temporal'] as const;

/** CPU seconds per part (null: not found on this machine). */
export type CpuSeconds = Record<(typeof PARTS)[number], number | null>;

/** CPU seconds used so far, by the parts of a bench run, and when they were read. */
export interface CpuReading extends CpuSeconds {
  at: number;
}

/** Whose CPU a reading counts: the worker process, the PostgreSQL server's postmaster and the Temporal dev server. */
export interface CpuParts {
  worker: number;
  postmaster: number | null;
  temporal: number | null;
}

export function readCpu(parts: CpuParts): CpuReading {
  const processes = allProcesses();
  const worker = processes.get(parts.worker)?.cpu ?? null;
  // The main thread is the task whose id is the process's.
  const main = readStat(`/proc/${parts.worker}/task/${parts.worker}/stat`)?.cpu ?? null;
  return {
    at: performance.now(),
    workerMain: main,
    workerOthers: worker !== null && main !== null ? worker - main : null,
    postgres: parts.postmaster ? treeCpu(parts.postmaster, processes) : null,
    temporal: parts.temporal ? treeCpu(parts.temporal, processes) : null,
  };
}

/**
 * The processes a bench run's CPU is counted in: the worker `workerPid`; the PostgreSQL server behind `pool`
 * (the parent of a backend, when that server runs on this machine); the Temporal dev server this process started.
 */
export async function cpuParts(pool: Pool, workerPid: number): Promise<CpuParts> {
  const { rows } = await pool.query<{ pid: number }>('select pg_backend_pid() as pid');
  const processes = allProcesses();
  const backend = processes.get(rows[0]!.pid);
  const temporal = [...processes].find(([, p]) => p.ppid === process.pid && p.comm === 'temporal')?.[0] ?? null;
  return { worker: workerPid, postmaster: backend ? backend.ppid : null, temporal };
}

/** Where the CPU of a stretch of a run went, in seconds, against what the machine's cores offered over it. */
export interface CpuUsed extends CpuSeconds {
  wallMs: number;
  cores: number;
}

export function cpuUsed(before: CpuReading, after: CpuReading, cores = os.availableParallelism()): CpuUsed {
  const used = Object.fromEntries(PARTS.map((k) => {
    const [a, b] = [before[k], after[k]];
    return [k, a === null || b === null ? null : b - a];
  })) as CpuSeconds;
  return { wallMs: after.at - before.at, cores, ...used };
}

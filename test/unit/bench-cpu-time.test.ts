import { describe, expect, it } from 'vitest';
import { cpuUsed, parseProcStat, readCpu, type CpuReading } from '../../bench/cpu-time.js';

describe('bench CPU time', () => {
  it('reads parent, user + system and reaped children from a stat line, whatever the command name holds', () => {
    const line = '4242 (node (worker) 2) S 4200 4242 4200 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 11 0 1000 0 0';
    expect(parseProcStat(line)).toEqual({ comm: 'node (worker) 2', ppid: 4200, cpu: 3, reapedChildren: 0.1 });
  });

  it('counts what each part used between two readings, and leaves a part not found as null', () => {
    const before: CpuReading = { at: 1000, workerMain: 1, workerOthers: 2, postgres: 10, temporal: null };
    const after: CpuReading = { at: 4000, workerMain: 2.5, workerOthers: 6, postgres: 12, temporal: null };
    expect(cpuUsed(before, after, 2)).toEqual({ wallMs: 3000, cores: 2, workerMain: 1.5, workerOthers: 4, postgres: 2, temporal: null });
  });

  it('reads this process: its main thread and the rest add up to the whole process', () => {
    const spin = Date.now() + 50;
    while (Date.now() < spin); // some CPU on the main thread
    const r = readCpu({ worker: process.pid, postmaster: null, temporal: null });
    expect(r.workerMain).toBeGreaterThan(0);
    expect(r.workerOthers).toBeGreaterThanOrEqual(0);
    expect(r.postgres).toBeNull();
  });
});

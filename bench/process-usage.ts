/**
 * A process's CPU time and resident memory, from /proc, as the benchmarks sample the controllers
 * they run (ours and Flagger).
 */
import { readFileSync } from 'node:fs';

export interface ProcessUsage {
  /** CPU seconds used so far, user + system. */
  readonly cpuS: number;
  /** Resident memory (VmRSS), MiB. */
  readonly rssMiB: number;
  /**
   * The part of it that is pages of mapped files (RssFile): for Node mostly its own binary, for a
   * Go controller its executable. Clean pages the kernel can drop and read again, shared with
   * every process that maps the same file; the rest (RssAnon, RssShmem) is the process's own.
   */
  readonly fileMiB: number;
}

export function processUsage(pid: number): ProcessUsage {
  // Fields after the command name (which may hold spaces) start at field 3; utime is 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { cpuS: ticks / 100, rssMiB: kb('VmRSS') / 1024, fileMiB: kb('RssFile') / 1024 };
}

/**
 * CPU time the hypervisor took from this machine (Linux's `steal` in /proc/stat) over a bench's
 * measured loop: on a shared VM it comes and goes (18% of one whole bench run here, 1% of
 * another), and a median measured while it ran high says more about the host than about nft-sync
 * (the same tree has given 62 and 99 ms a few minutes apart). The bench prints it next to its
 * figures.
 */
import { readFileSync } from 'node:fs';

/** The machine's CPU time so far, in clock ticks: all of it, and what was stolen. */
export interface CpuTimes {
  total: number;
  steal: number;
}

/**
 * The CPU times in the text of /proc/stat (its `cpu` line: user nice system idle iowait irq
 * softirq steal ...; guest time is counted in user already). Undefined when there is no such line.
 * Pure.
 */
export function parseCpuTimes(stat: string): CpuTimes | undefined {
  const line = /^cpu (.+)$/m.exec(stat)?.[1];
  if (line === undefined) return undefined;
  const f = line.trim().split(/\s+/).map(Number);
  if (f.length < 8 || f.some((x) => !Number.isFinite(x))) return undefined;
  return { total: f.slice(0, 8).reduce((a, b) => a + b, 0), steal: f[7]! };
}

/** The CPU times now (undefined off Linux). */
export function cpuTimes(): CpuTimes | undefined {
  try {
    return parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/** The share (0 to 1) of the CPU time between `before` and `after` that was stolen; undefined when unknown. */
export function stolenShare(before: CpuTimes | undefined, after: CpuTimes | undefined): number | undefined {
  if (before === undefined || after === undefined || after.total <= before.total) return undefined;
  return (after.steal - before.steal) / (after.total - before.total);
}

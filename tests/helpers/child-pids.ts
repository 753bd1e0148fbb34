import { readdirSync, readFileSync } from 'node:fs';

/**
 * PIDs of this process's direct children whose command line ends with `tail` (e.g. `-j -f -`:
 * the nft a warm runner keeps waiting, behind setpriv and `ip netns exec`, which exec).
 */
export function childPidsRunning(tail = '-j -f -'): number[] {
  const words = tail.split(' ').length;
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (ppid === process.pid && cmd.slice(-words).join(' ') === tail) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

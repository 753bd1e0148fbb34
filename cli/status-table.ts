/** The `nft-sync status` table: one line per agent, columns padded to their widest cell. */
import type { AgentRecord } from '../server/agent-registry.js';

/** `12s ago`, `5m ago`, `3h ago`, `2d ago` (`now` when in the future or under a second). */
export function relativeTime(iso: string, now: number): string {
  const s = Math.floor((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return '?';
  if (s < 1) return 'now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

/** The table text (with a trailing newline) for `agents`, times relative to `now` (ms). Pure. */
export function formatStatusTable(agents: readonly AgentRecord[], now: number): string {
  const rows = [['NAME', 'REF', 'REVISION', 'STATE', 'REASON', 'LAST SEEN', 'CONNECTED']];
  for (const a of agents) {
    const ready = a.status?.conditions.find((c) => c.type === 'Ready') ?? a.status?.conditions[0];
    // A drift that self-heal put back leaves Ready at Applied; say so rather than hide it.
    const healed = a.status?.conditions.some((c) => c.type === 'Drifted' && c.reason === 'Healed') && ready?.reason !== 'Drifted';
    const ref = a.status?.ref === undefined ? '-' : a.status.tag ? `${a.status.ref} (${a.status.tag})` : a.status.ref;
    rows.push([
      a.name,
      ref,
      a.status?.commit ? a.status.commit.slice(0, 12) : '-',
      a.status?.state ?? 'Unknown',
      (ready?.reason ?? '-') + (healed ? ' (drift healed)' : ''),
      relativeTime(a.lastSeen, now),
      a.connected ? 'yes' : 'no',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

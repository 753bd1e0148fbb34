/**
 * What `nft-sync status` prints: a table (one line per agent, columns padded to their widest
 * cell) or, with --json, a document whose shape is kept stable for scripts (docs/http-api.md,
 * "nft-sync status --json"; tests/unit/cli/status-table.test.ts pins it). Pure.
 */
import type { AgentRecord } from '../shared/http/http-api.js';
import type { AgentStatus, Condition } from '../shared/wire/messages.js';

/** Exit code of `nft-sync status` when some agent is not Ready (0: all are, or none is known). */
export const STATUS_NOT_READY_EXIT = 3;

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

/** The agent's Ready condition (or its first one, from an agent that sends no Ready). */
function readyCondition(status: AgentStatus | undefined): Condition | undefined {
  return status?.conditions.find((c) => c.type === 'Ready') ?? status?.conditions[0];
}

/**
 * Whether an agent counts as Ready: connected now, and its latest report's Ready condition is
 * True. A disconnected agent's last report may be stale, so it does not count.
 */
export function isAgentReady(a: AgentRecord): boolean {
  return a.connected && readyCondition(a.status)?.status === 'True';
}

/** One agent in `status --json`: every key always present (null when unknown), in this order. */
export interface StatusJsonAgent {
  name: string;
  connected: boolean;
  lastSeen: string;
  address: string;
  /** connected and Ready=True (isAgentReady). */
  ready: boolean;
  state: AgentStatus['state'] | 'Unknown';
  reason: string | null;
  message: string | null;
  /** The ref or tag pattern the agent follows. */
  ref: string | null;
  /** The ruleset, commit, tag and time of the revision in force on the host. */
  ruleset: string | null;
  commit: string | null;
  tag: string | null;
  appliedAt: string | null;
  /** The revision last tried (differs from `commit` when that one failed). */
  attemptedCommit: string | null;
  /** The latest drift: `{status, reason, message}` (reason Drifted or Healed), or null. */
  drift: { status: string; reason: string; message: string | null } | null;
  /** The agent's latest report, as it sent it (fields may be added over time). */
  status: AgentStatus | null;
}

/** The `status --json` document. `version` changes only if a key is removed or changes meaning. */
export interface StatusJson {
  version: 1;
  /** Every agent Ready (true when there is none). */
  ready: boolean;
  agents: StatusJsonAgent[];
}

/** The `status --json` document for `agents`. Pure. */
export function statusJson(agents: readonly AgentRecord[]): StatusJson {
  const out = agents.map((a): StatusJsonAgent => {
    const s = a.status;
    const ready = readyCondition(s);
    const drift = s?.conditions.find((c) => c.type === 'Drifted');
    return {
      name: a.name,
      connected: a.connected,
      lastSeen: a.lastSeen,
      address: a.address,
      ready: isAgentReady(a),
      state: s?.state ?? 'Unknown',
      reason: ready?.reason ?? null,
      message: ready?.message ?? null,
      ref: s?.ref ?? null,
      ruleset: s?.ruleset ?? null,
      commit: s?.commit ?? null,
      tag: s?.tag ?? null,
      appliedAt: s?.appliedAt ?? null,
      attemptedCommit: s?.attemptedCommit ?? null,
      drift: drift ? { status: drift.status, reason: drift.reason, message: drift.message ?? null } : null,
      status: s ?? null,
    };
  });
  return { version: 1, ready: out.every((a) => a.ready), agents: out };
}

/** `text` with control characters (C0, DEL, C1) written as `\\uXXXX`. */
function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The table text (with a trailing newline) for `agents`, times relative to `now` (ms). REVISION
 * is the revision in force, with the tag it was released as (a tracked pattern), so a tag the
 * agent is still trying (or refused) never appears next to a revision it does not run. Pure.
 */
export function formatStatusTable(agents: readonly AgentRecord[], now: number): string {
  const rows = [['NAME', 'REF', 'RULESET', 'REVISION', 'STATE', 'REASON', 'LAST SEEN', 'CONNECTED']];
  for (const a of agents) {
    const s = a.status;
    const ready = readyCondition(s);
    // A drift that self-heal put back leaves Ready at Applied; say so rather than hide it.
    const healed = s?.conditions.some((c) => c.type === 'Drifted' && c.reason === 'Healed') && ready?.reason !== 'Drifted';
    const revision = s?.commit ? `${s.commit.slice(0, 12)}${s.tag ? ` (${s.tag})` : ''}` : '-';
    rows.push([
      a.name,
      s?.ref ?? '-',
      s?.ruleset ?? '-',
      revision,
      s?.state ?? 'Unknown',
      (ready?.reason ?? '-') + (healed ? ' (drift healed)' : ''),
      relativeTime(a.lastSeen, now),
      a.connected ? 'yes' : 'no',
    ]);
  }
  // Every cell comes from the server (and most from agents' reports): control characters are
  // shown escaped, never written to the terminal.
  for (const r of rows) r.forEach((c, i) => (r[i] = printable(c)));
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

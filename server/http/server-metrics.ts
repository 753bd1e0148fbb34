/**
 * The server's Prometheus metrics, kept as plain counters and rendered by hand in the text
 * exposition format (version 0.0.4), so no metrics library is needed.
 */
import type { AgentRecord } from '../../shared/http/http-api.js';
import type { ReplicaHealth } from '../replica/replica-health.js';

/** Escape a label value as the exposition format requires. */
function label(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class ServerMetrics {
  readonly startTime = Date.now() / 1000;
  /** `route status` -> count; the route is the registered pattern, so cardinality stays bounded. */
  readonly #requests = new Map<string, number>();
  refMoves = 0;
  rollbacks = 0;

  /** Count one HTTP request answered with `status` on `route` (a pattern, or "unmatched"). */
  countRequest(route: string, status: number): void {
    const key = `${route} ${status}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
  }

  /**
   * Render every metric; `agents`, `wireConnections` and, on a replica, `replica` are read at
   * scrape time. Agent counts are the agents this server keeps: on the primary the whole fleet
   * (replicas forward their agents' reports), on a replica its own agents.
   */
  render(agents: readonly AgentRecord[], wireConnections: number, replica?: ReplicaHealth): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, samples: Array<[string, number]>) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) out.push(`${name}${labels} ${value}`);
    };
    const states = new Map<string, number>();
    for (const s of ['Applied', 'Applying', 'Failed', 'Degraded', 'Unknown']) states.set(s, 0);
    for (const a of agents) states.set(a.status?.state ?? 'Unknown', (states.get(a.status?.state ?? 'Unknown') ?? 0) + 1);
    metric('nftsync_agents', 'gauge', 'Known agents by the state of their latest report.', [...states].map(([s, n]) => [`{state="${label(s)}"}`, n]));
    metric('nftsync_agents_connected', 'gauge', 'Agents with an open wire connection.', [['', agents.filter((a) => a.connected).length]]);
    metric('nftsync_wire_connections', 'gauge', 'Open wire protocol connections.', [['', wireConnections]]);
    metric('nftsync_http_requests_total', 'counter', 'HTTP requests by route pattern and status.', [...this.#requests].sort().map(([k, n]) => {
      const i = k.lastIndexOf(' ');
      return [`{route="${label(k.slice(0, i))}",status="${k.slice(i + 1)}"}`, n];
    }));
    metric('nftsync_ref_moves_total', 'counter', 'Branch and tag moves seen by the ref watcher.', [['', this.refMoves]]);
    metric('nftsync_rollbacks_total', 'counter', 'Rollback commits made.', [['', this.rollbacks]]);
    if (replica) {
      metric('nftsync_replica_primary_reachable', 'gauge', 'On a replica: 1 when the last poll of the primary was answered, else 0.', [['', replica.primaryReachable ? 1 : 0]]);
      metric('nftsync_replica_synced_timestamp_seconds', 'gauge', "On a replica: when the mirror last held the primary's refs, since the Unix epoch in seconds (alert on time() minus this).", [['', replica.syncedAt === undefined ? 0 : Math.floor(replica.syncedAt / 1000)]]);
      metric('nftsync_replica_fetches_total', 'counter', 'On a replica: git fetches of the primary.', [['', replica.fetches]]);
      metric('nftsync_replica_reports_forwarded_total', 'counter', "On a replica: its agents' reports the primary kept.", [['', replica.forwarded]]);
    }
    metric('process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch in seconds.', [['', Math.floor(this.startTime)]]);
    return out.join('\n') + '\n';
  }
}

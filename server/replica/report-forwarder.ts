/**
 * A replica forwards its agents' reports to the primary (POST /api/v1/agents/reports), so the
 * primary, and through it every server, lists the whole fleet; and answers GET /api/v1/agents
 * with the primary's list.
 *
 * Forwarding keeps the latest report per agent only: the names that changed are collected and
 * sent together at most every `intervalMs`, read from the registry at send time. A failed send
 * keeps the names for the next round, so a primary that was away gets every agent's latest
 * report when it is back. Batches stay under the primary's request body limit.
 */
import type { Logger } from 'pino';
import type { AgentRecord, AgentRegistry, ForwardedReport } from '../agents/agent-registry.js';
import { SERVER_DEFAULTS } from '../defaults.js';

export interface ReportForwarderOptions {
  /** The primary's HTTP base, e.g. `http://primary:7401/`. */
  primary: string;
  token?: string;
  /** This replica's name, as the primary shows it (`via`). */
  via: string;
  registry: AgentRegistry;
  logger: Logger;
  /** Send at most this often (default SERVER_DEFAULTS.replica.forwardMs). */
  intervalMs?: number;
}

/** Largest batch body, well under fastify's default 1 MiB body limit. */
const MAX_BATCH_BYTES = 512 * 1024;

export class ReportForwarder {
  readonly #opts: ReportForwarderOptions;
  readonly #dirty = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #stopped = false;
  /** Reports the primary kept so far (tests, metrics). */
  forwarded = 0;

  constructor(opts: ReportForwarderOptions) {
    this.#opts = opts;
  }

  /** Note that `name`'s record changed; it is sent with the next batch. */
  changed(name: string): void {
    if (this.#stopped) return;
    this.#dirty.add(name);
    this.#timer ??= setTimeout(() => void this.#flush(), this.#opts.intervalMs ?? SERVER_DEFAULTS.replica.forwardMs);
  }

  /** Stop; resolves once a send in flight has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#sending?.catch(() => {});
  }

  /**
   * The whole fleet: the primary's list, plus this replica's agents it does not list yet. This
   * replica's own list when the primary cannot be asked (logged).
   */
  async fleet(): Promise<AgentRecord[]> {
    const local = this.#opts.registry.list();
    try {
      const res = await fetch(new URL('/api/v1/agents', this.#opts.primary), { headers: this.#headers(), signal: AbortSignal.timeout(SERVER_DEFAULTS.replica.openTimeoutMs) });
      if (!res.ok) throw new Error(`GET /api/v1/agents answered ${res.status}`);
      const { agents } = (await res.json()) as { agents: AgentRecord[] };
      const names = new Set(agents.map((a) => a.name));
      return [...agents, ...local.filter((a) => !names.has(a.name)).map((a) => ({ ...a, via: this.#opts.via }))].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (err) {
      this.#opts.logger.warn({ err: (err as Error).message }, 'replica: cannot ask the primary for the fleet; answering with this replica\'s agents only');
      return local;
    }
  }

  #headers(): Record<string, string> {
    return this.#opts.token ? { authorization: `Bearer ${this.#opts.token}` } : {};
  }

  async #flush(): Promise<void> {
    this.#timer = undefined;
    if (this.#sending || this.#stopped) return;
    const names = [...this.#dirty];
    this.#dirty.clear();
    const reports: ForwardedReport[] = [];
    for (const name of names) {
      const rec = this.#opts.registry.get(name);
      if (rec?.status) reports.push({ status: rec.status, address: rec.address.slice(0, 100), connected: rec.connected });
    }
    this.#sending = this.#send(reports).catch((err: unknown) => {
      for (const name of names) this.#dirty.add(name);
      this.#opts.logger.warn({ err: (err as Error).message, reports: reports.length }, 'replica: cannot forward reports to the primary; trying again');
    });
    await this.#sending;
    this.#sending = undefined;
    if (this.#dirty.size > 0 && !this.#stopped) this.#timer ??= setTimeout(() => void this.#flush(), this.#opts.intervalMs ?? SERVER_DEFAULTS.replica.forwardMs);
  }

  async #send(reports: ForwardedReport[]): Promise<void> {
    let batch: ForwardedReport[] = [];
    let bytes = 0;
    const post = async () => {
      if (batch.length === 0) return;
      const res = await fetch(new URL('/api/v1/agents/reports', this.#opts.primary), {
        method: 'POST',
        headers: { ...this.#headers(), 'content-type': 'application/json' },
        body: JSON.stringify({ via: this.#opts.via, reports: batch }),
        signal: AbortSignal.timeout(SERVER_DEFAULTS.replica.openTimeoutMs),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`POST /api/v1/agents/reports answered ${res.status}: ${text.slice(0, 200)}`);
      this.forwarded += (JSON.parse(text) as { kept: number }).kept;
      batch = [];
      bytes = 0;
    };
    for (const r of reports) {
      const size = Buffer.byteLength(JSON.stringify(r));
      if (batch.length >= 1000 || bytes + size > MAX_BATCH_BYTES) await post();
      batch.push(r);
      bytes += size;
    }
    await post();
  }
}

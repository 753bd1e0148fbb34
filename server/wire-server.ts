/**
 * The nft-sync wire protocol server: accepts TCP (or TLS) connections, caps them per remote
 * address, gives each a WireSession, and fans ref movements out to subscribers.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { NftSyncError } from '../shared/errors.js';
import { encodeMessage } from '../shared/message-codec.js';
import { DEFAULT_MAX_FRAME } from '../shared/messages.js';
import { AgentRegistry } from './agent-registry.js';
import { SubscriptionHub } from './subscription-hub.js';
import { trackedPattern, WireSession, type RulesetSource, type SessionLimits } from './wire-session.js';

export interface WireServerOptions {
  source: RulesetSource;
  logger: Logger;
  registry?: AgentRegistry;
  limits?: Partial<SessionLimits>;
  /** Most simultaneous connections from one remote address. */
  maxConnectionsPerAddress?: number;
  /** Most simultaneous connections in all. */
  maxConnections?: number;
  /** TLS options (key, cert, ca...); plain TCP without them. A client certificate is always required. */
  tls?: tls.TlsOptions;
  serverName?: string;
}

/** Defaults, in one place. */
export const WIRE_SERVER_DEFAULTS = {
  limits: { maxFrame: DEFAULT_MAX_FRAME, handshakeTimeoutMs: 5000, frameTimeoutMs: 30_000, heartbeatMs: 15000, maxQueued: 16, maxSubscriptions: 64 } satisfies SessionLimits,
  /**
   * An agent holds one connection, plus one short-lived probe in its confirm window; 64 leaves
   * room for a few dozen agents behind one NAT address while one stranger cannot take the
   * server's whole connection budget. Raise it (--max-connections-per-address) for bigger NATs.
   */
  maxConnectionsPerAddress: 64,
  maxConnections: 10000,
};

export class WireServer {
  readonly registry: AgentRegistry;
  readonly hub: SubscriptionHub;
  readonly #server: net.Server;
  readonly #sessions = new Set<WireSession>();
  /** Connections being turned away, closed by close() too. */
  readonly #refused = new Set<net.Socket>();
  readonly #perAddress = new Map<string, number>();
  readonly #opts: WireServerOptions;
  readonly #limits: SessionLimits;

  constructor(opts: WireServerOptions) {
    this.#opts = opts;
    this.#limits = { ...WIRE_SERVER_DEFAULTS.limits, ...opts.limits };
    this.registry = opts.registry ?? new AgentRegistry();
    this.hub = new SubscriptionHub(async (key) => {
      const pattern = trackedPattern(key);
      return pattern === undefined ? opts.source.resolveRef(key) : opts.source.resolveTrackedTag(pattern);
    });
    const onConnection = (socket: net.Socket) => this.#accept(socket);
    // Sessions under TLS check the client certificate's names, so a client certificate is always
    // required (callers may not turn that off); TLS 1.2 at least unless a caller asks for more.
    const tlsOptions = opts.tls && { minVersion: 'TLSv1.2' as const, ...opts.tls, requestCert: true, rejectUnauthorized: true };
    this.#server = tlsOptions ? tls.createServer(tlsOptions, onConnection) : net.createServer(onConnection);
    this.#server.on('error', (err) => opts.logger.error({ err: err.message }, 'wire server error'));
    // Refused handshakes (no or foreign client certificate, plain TCP on the TLS port) never
    // reach a session; log them so an operator can see who is being turned away.
    this.#server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) =>
      opts.logger.info({ err: err.message, code: err.code, remote: socket.remoteAddress }, 'TLS handshake refused'),
    );
  }

  /** Start listening; resolves with the bound address (port 0 picks a free port). */
  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      this.#server.once('error', onError);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', onError);
        resolve(this.#server.address() as net.AddressInfo);
      });
    });
  }

  /** Tell subscribers about refs that moved; call when the repository's refs change. */
  refsChanged(): Promise<void> {
    return this.hub.refresh();
  }

  /** Number of open connections. */
  get connections(): number {
    return this.#sessions.size;
  }

  /** Stop accepting, close every connection, resolve when the listener is closed. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sessions) s.destroy();
    for (const s of this.#refused) s.destroy();
    await closed;
  }

  #accept(socket: net.Socket): void {
    const addr = socket.remoteAddress ?? '?';
    const count = this.#perAddress.get(addr) ?? 0;
    const perAddress = this.#opts.maxConnectionsPerAddress ?? WIRE_SERVER_DEFAULTS.maxConnectionsPerAddress;
    const total = this.#opts.maxConnections ?? WIRE_SERVER_DEFAULTS.maxConnections;
    if (count >= perAddress || this.#sessions.size >= total) {
      const e = new NftSyncError('NFTSYNC_ERR_SERVER_BUSY', `too many connections from ${addr}`);
      socket.on('error', () => {});
      this.#refused.add(socket);
      socket.on('close', () => this.#refused.delete(socket));
      socket.end(encodeMessage({ type: 'error', code: e.code, message: e.message, retryable: true, fatal: true }));
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    this.#perAddress.set(addr, count + 1);
    const session = new WireSession(socket, {
      source: this.#opts.source,
      hub: this.hub,
      registry: this.registry,
      logger: this.#opts.logger,
      limits: this.#limits,
      serverName: this.#opts.serverName ?? 'nft-sync',
    });
    this.#sessions.add(session);
    socket.on('close', () => {
      this.#sessions.delete(session);
      const n = (this.#perAddress.get(addr) ?? 1) - 1;
      if (n <= 0) this.#perAddress.delete(addr);
      else this.#perAddress.set(addr, n);
    });
  }
}

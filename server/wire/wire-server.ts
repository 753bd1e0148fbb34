/**
 * The nft-sync wire protocol server: accepts TCP connections, counts and times them from the TCP
 * accept (before any TLS), caps them per remote address and in all, runs the TLS handshake itself
 * when configured, gives each connection a WireSession, and fans ref movements out to
 * subscribers.
 *
 * Why accept on a plain net.Server even under TLS: a tls.Server hands a connection over only once
 * its handshake is done, so connections that never send a ClientHello were neither counted nor
 * capped, and were kept for two minutes each. Here every accepted socket counts against the caps
 * at once, and one that has not said hello (TLS handshake included) within the handshake timeout
 * of its accept is closed.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { NftSyncError } from '../../shared/errors.js';
import { encodeMessage } from '../../shared/wire/message-codec.js';
import { CLIENT_MAX_FRAME, DEFAULT_MAX_FRAME } from '../../shared/wire/messages.js';
import type { TokenEntry } from '../../shared/config/token-list.js';
import { AgentRegistry } from '../agents/agent-registry.js';
import { AnswerFrames } from './answer-frames.js';
import { DropLog, type DropReason } from './drop-log.js';
import { ReadBudget, type ReadBudgetOptions } from './read-budget.js';
import { NOTIFY_BATCH, SubscriptionHub } from './subscription-hub.js';
import type { RulesetSource } from '../git/ruleset-source.js';
import { trackedPattern, WireSession, type PublishHandler, type RolloutGate, type SessionLimits } from './wire-session.js';
import { SERVER_DEFAULTS } from '../defaults.js';

export interface WireServerOptions {
  source: RulesetSource;
  logger: Logger;
  registry?: AgentRegistry;
  limits?: Partial<SessionLimits>;
  /** Most simultaneous connections from one remote address. */
  maxConnectionsPerAddress?: number;
  /** Most simultaneous connections in all (TLS handshakes in progress included), checks aside. */
  maxConnections?: number;
  /** Connections let in over maxConnections for lockout-guard checks only (--check-connections). */
  checkConnections?: number;
  /** Encoded answer frames kept, in bytes (server/answer-frames.ts). */
  answerFramesBytes?: number;
  /** TLS options (key, cert, ca...); plain TCP without them. A client certificate is always required. */
  tls?: tls.TlsOptions;
  serverName?: string;
  /** Tokens a plain-TCP hello must carry one of (--read-token-required); undefined: none needed. */
  helloTokens?: readonly TokenEntry[];
  /**
   * Tokens that give a plain-TCP connection write rights (the server's --token-file): a hello
   * carrying one may `publish`. Under mutual TLS the certificate gives them.
   */
  writeTokens?: readonly TokenEntry[];
  /** Handles `publish` (server/publish/publish-service.ts); without it publish is refused. */
  publish?: PublishHandler;
  /** At most one log line of dropped connections per this interval (default 10 s). */
  dropLogIntervalMs?: number;
  /** Bytes read per remote address (server/wire/read-budget.ts defaults: 1 MiB/s, bursts of 4 MiB). */
  readBudget?: ReadBudgetOptions;
  /** Staged rollouts: consulted wherever a ref is resolved for an agent and before each `moved`. */
  rollouts?: RolloutGate;
  /** Called after each status report is kept. */
  onReport?(): void;
}

/** The wire listener's defaults (from server/defaults.ts). */
export const WIRE_SERVER_DEFAULTS = {
  limits: {
    maxClientFrame: CLIENT_MAX_FRAME,
    maxAnswerFrame: DEFAULT_MAX_FRAME,
    handshakeTimeoutMs: SERVER_DEFAULTS.wire.handshakeTimeoutMs,
    frameTimeoutMs: SERVER_DEFAULTS.wire.frameTimeoutMs,
    heartbeatMs: SERVER_DEFAULTS.wire.heartbeatMs,
    maxQueued: SERVER_DEFAULTS.wire.maxQueued,
    maxSubscriptions: SERVER_DEFAULTS.wire.maxSubscriptions,
    maxUnreadBytes: SERVER_DEFAULTS.wire.maxUnreadBytes,
    writeStallMs: SERVER_DEFAULTS.wire.writeStallMs,
  } satisfies SessionLimits,
  /** Why these values: server/defaults.ts. */
  maxConnectionsPerAddress: SERVER_DEFAULTS.wire.maxConnectionsPerAddress,
  maxConnections: SERVER_DEFAULTS.wire.maxConnections,
  checkConnections: SERVER_DEFAULTS.wire.checkConnections,
};

/** Connections being turned away that still get their error frame; past this, just closed. */
const MAX_REFUSING = SERVER_DEFAULTS.wire.maxRefusing;

export class WireServer {
  readonly registry: AgentRegistry;
  readonly hub: SubscriptionHub;
  /** Answers encoded once for all connections. */
  readonly frames: AnswerFrames;
  /** Connections let in over the total cap, for checks only. */
  readonly #overCap = new Set<net.Socket>();
  readonly #server: net.Server;
  /** Runs the TLS handshakes of accepted sockets; never listens itself. */
  readonly #tls: tls.Server | undefined;
  readonly #sessions = new Set<WireSession>();
  /** Every accepted socket not yet closed, counted against the caps from its accept. */
  readonly #open = new Set<net.Socket>();
  /** Accepted sockets in their TLS handshake, by remote address:port, with their accept time and deadline. */
  readonly #handshaking = new Map<string, { acceptedAt: number; timer: NodeJS.Timeout; overCap: string | undefined }>();
  /** Connections being turned away, closed by close() too. */
  readonly #refused = new Set<net.Socket>();
  readonly #perAddress = new Map<string, number>();
  readonly #opts: WireServerOptions;
  readonly #limits: SessionLimits;
  readonly drops: DropLog;
  readonly #budget: ReadBudget;

  constructor(opts: WireServerOptions) {
    this.#opts = opts;
    this.#limits = { ...WIRE_SERVER_DEFAULTS.limits, ...opts.limits };
    this.registry = opts.registry ?? new AgentRegistry();
    this.drops = new DropLog(opts.logger, opts.dropLogIntervalMs);
    this.#budget = new ReadBudget(opts.readBudget);
    this.frames = new AnswerFrames(opts.answerFramesBytes);
    this.hub = new SubscriptionHub(async (key) => {
      const pattern = trackedPattern(key);
      return pattern === undefined ? opts.source.resolveRef(key) : opts.source.resolveTrackedTag(pattern);
    });
    this.#server = net.createServer((socket) => this.#accept(socket));
    this.#server.on('error', (err) => opts.logger.error({ err: err.message }, 'wire server error'));
    if (opts.tls) {
      // Sessions under TLS check the client certificate's names, so a client certificate is always
      // required (callers may not turn that off); TLS 1.2 at least unless a caller asks for more.
      // tls' own handshake timeout is an idle timeout; ours (in #accept) is absolute and shorter.
      const handshakeTimeout = Math.max(1, this.#limits.handshakeTimeoutMs * 2);
      this.#tls = tls.createServer(
        { minVersion: 'TLSv1.2', ...opts.tls, requestCert: true, rejectUnauthorized: true, handshakeTimeout },
        (socket) => this.#secured(socket),
      );
      // Refused handshakes (no or foreign client certificate, plain TCP on the TLS port) never
      // reach a session; counted, so an operator can see who is being turned away. A peer that
      // just closed ("socket hang up") was not turned away.
      this.#tls.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
        if (err.code === 'ECONNRESET') return;
        this.drops.note(err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'tlsHandshakeTimeout' : 'tlsFailed', socket.remoteAddress ?? '?', err.code ?? err.message);
      });
    }
  }

  /** Start listening; resolves with the bound address (port 0 picks a free port). */
  listen(host: string, port: number): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      this.#server.once('error', onError);
      this.#server.listen({ host, port, backlog: 4096 }, () => {
        this.#server.off('error', onError);
        resolve(this.#server.address() as net.AddressInfo);
      });
    });
  }

  /**
   * The element API is about to move branch `ref` (a full ref name) to `commit` from `ahead.parent`
   * (AnswerFrames.primeAhead): the `ahead` frame goes now to the connections that asked for it and
   * were served its base (WireSession.aheadNow), NOTIFY_BATCH of them per turn of the event loop,
   * and with `moved` to those that subscribe meanwhile. Resolves once all were told. Never rejects.
   */
  async ahead(ref: string, commit: string, ahead: { parent: string; ruleset: string; base: string; target: number; delta: Buffer }): Promise<void> {
    this.frames.primeAhead(ref, commit, ahead);
    let told = 0;
    for (const s of [...this.#sessions]) {
      if (s.aheadNow(ref, commit) && ++told % NOTIFY_BATCH === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Tell subscribers about refs that moved; call when the repository's refs change. */
  refsChanged(): Promise<void> {
    return this.hub.refresh();
  }

  /**
   * A rollout changed who is served what: each session re-asks the revision of the refs it
   * follows for which `isGoverned(key)` holds and hears `moved` where its answer changed.
   */
  rolloutChanged(isGoverned: (key: string) => boolean): void {
    for (const s of this.#sessions) s.rolloutChanged(isGoverned, (key) => this.hub.current(key));
  }

  /** Number of connections past their handshake (sessions). */
  get connections(): number {
    return this.#sessions.size;
  }

  /** Number of accepted connections not yet closed, TLS handshakes in progress included. */
  get acceptedConnections(): number {
    return this.#open.size;
  }

  /** Of those, the connections let in over the total cap (lockout-guard checks, or soon refused). */
  get overCapConnections(): number {
    return this.#overCap.size;
  }

  /** Stop accepting, close every connection, resolve when the listener is closed. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sessions) s.destroy();
    for (const s of this.#open) s.destroy();
    for (const s of this.#refused) s.destroy();
    this.drops.flush();
    await closed;
  }

  #accept(socket: net.Socket): void {
    const addr = socket.remoteAddress ?? '?';
    socket.on('error', () => {});
    const count = this.#perAddress.get(addr) ?? 0;
    const perAddress = this.#opts.maxConnectionsPerAddress ?? WIRE_SERVER_DEFAULTS.maxConnectionsPerAddress;
    const total = this.#opts.maxConnections ?? WIRE_SERVER_DEFAULTS.maxConnections;
    if (count >= perAddress) {
      return this.#refuse(socket, 'perAddressCap', addr, `too many connections from ${addr}: it holds ${count}, the most one address may (--max-connections-per-address ${perAddress}); the server itself has room`, { cause: 'perAddressCap', limit: perAddress });
    }
    // Past the total cap a connection may still be a lockout guard's check: it is let into the
    // room kept for those, and refused at hello unless it says `check`.
    const full = this.#open.size - this.#overCap.size >= total;
    const checkRoom = this.#opts.checkConnections ?? WIRE_SERVER_DEFAULTS.checkConnections;
    const busy = `the server holds the most connections it takes in all (--max-connections ${total}); it is not this address (${addr}) that holds too many`;
    if (full && this.#overCap.size >= checkRoom) return this.#refuse(socket, 'globalCap', addr, busy, { cause: 'globalCap', limit: total });
    const acceptedAt = Date.now();
    this.#open.add(socket);
    if (full) {
      this.#overCap.add(socket);
      socket.on('close', () => this.#overCap.delete(socket));
    }
    this.#perAddress.set(addr, count + 1);
    this.#budget.open(addr);
    socket.on('close', () => {
      this.#open.delete(socket);
      this.#budget.close(addr);
      const n = (this.#perAddress.get(addr) ?? 1) - 1;
      if (n <= 0) this.#perAddress.delete(addr);
      else this.#perAddress.set(addr, n);
    });
    const overCap = full ? busy : undefined;
    if (!this.#tls) {
      this.#startSession(socket, acceptedAt, overCap);
      return;
    }
    const key = `${addr}:${socket.remotePort ?? 0}`;
    const ms = this.#limits.handshakeTimeoutMs;
    const timer = setTimeout(() => {
      this.drops.note('tlsHandshakeTimeout', addr, `no TLS handshake within ${ms} ms of connecting`);
      socket.destroy();
    }, ms > 0 ? ms : 120_000);
    timer.unref();
    this.#handshaking.set(key, { acceptedAt, timer, overCap });
    socket.on('close', () => {
      clearTimeout(timer);
      if (this.#handshaking.get(key)?.timer === timer) this.#handshaking.delete(key);
    });
    this.#tls.emit('connection', socket);
  }

  /** A TLS handshake completed (with a verified client certificate). */
  #secured(socket: tls.TLSSocket): void {
    const key = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const pending = this.#handshaking.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.#handshaking.delete(key);
    }
    this.#startSession(socket, pending?.acceptedAt ?? Date.now(), pending?.overCap);
  }

  #startSession(socket: net.Socket, acceptedAt: number, overCap: string | undefined): void {
    const session = new WireSession(
      socket,
      {
        source: this.#opts.source,
        hub: this.hub,
        registry: this.registry,
        logger: this.#opts.logger,
        limits: this.#limits,
        serverName: this.#opts.serverName ?? 'nft-sync',
        helloTokens: this.#opts.helloTokens,
        writeTokens: this.#opts.writeTokens,
        publish: this.#opts.publish,
        drops: this.drops,
        budget: this.#budget,
        rollouts: this.#opts.rollouts,
        onReport: this.#opts.onReport,
        frames: this.frames,
      },
      acceptedAt,
      overCap === undefined ? {} : { overCap },
    );
    this.#sessions.add(session);
    socket.on('close', () => this.#sessions.delete(session));
  }

  /**
   * Turn a connection away at accept. Over plain TCP it gets a SERVER_BUSY frame first (the agent
   * then knows to back off); under TLS nothing can be said before a handshake, which is exactly
   * the work a flood must not cost, so it is just closed.
   */
  #refuse(socket: net.Socket, reason: DropReason, addr: string, why: string, data: Record<string, unknown>): void {
    this.drops.note(reason, addr);
    if (this.#tls || this.#refused.size >= MAX_REFUSING) {
      socket.destroy();
      return;
    }
    const e = new NftSyncError('NFTSYNC_ERR_SERVER_BUSY', why, { data });
    this.#refused.add(socket);
    socket.on('close', () => this.#refused.delete(socket));
    socket.end(encodeMessage({ type: 'error', code: e.code, message: e.message, retryable: true, fatal: true }));
    setTimeout(() => socket.destroy(), SERVER_DEFAULTS.wire.closeLingerMs).unref();
  }
}

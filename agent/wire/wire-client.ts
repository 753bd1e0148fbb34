/**
 * The agent's side of the wire protocol: connect, hello/welcome, then requests matched to their
 * answers by id. Heartbeats detect a dead link: when the link is idle the client pings every
 * heartbeat interval and gives up on the connection when a ping goes unanswered for another one.
 *
 * What the server may send is bounded by what the agent asked for: frames are limited to
 * IDLE_MAX_FRAME (every answer but a ruleset is a small header), except while a fetch is
 * outstanding, when one frame may carry a header, the largest ruleset the agent accepts
 * (`maxRulesetBytes`, the CLI's --max-ruleset-bytes) and, when the fetch asked for a release
 * proof, PROOF_ALLOWANCE_BYTES of git objects. A bigger frame is refused from its 4-byte length,
 * before any of it is buffered, and the connection is closed.
 */
import type { LineEdit } from '../../shared/wire/ruleset-delta.js';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { encodeMessage, MAX_HEADER_BYTES } from '../../shared/wire/message-codec.js';
import { MessageReader } from '../../shared/wire/message-reader.js';
import { connectError } from './tls-connect-error.js';
import { fetchFrameAllowance, fetchResult, PROOF_ALLOWANCE_BYTES, rulesetTooLarge, type FetchResult } from './fetch-answer.js';
import { DeltaAnswers, SPARE_MIN_BYTES } from './delta-answers.js';

export { fetchFrameAllowance, fetchResult, PROOF_ALLOWANCE_BYTES };
import { assertRef, assertRulesetName } from '../../shared/ruleset/names.js';
import { assertTagPattern } from '../../shared/release/semver.js';
import {
  PROTOCOL_VERSIONS,
  PRE_HANDSHAKE_MAX_FRAME,
  SERVER_MESSAGE_TYPES,
  type AgentStatus,
  type ClientMessage,
  type Revision,
  type ServerMessage,
  type WelcomeMessage,
} from '../../shared/wire/messages.js';
import { AGENT_DEFAULTS } from '../defaults.js';

/** Frame limit while no fetch is outstanding: welcome, pong, ack, moved, error are small. */
export const IDLE_MAX_FRAME = AGENT_DEFAULTS.wire.idleMaxFrame;
/**
 * Default largest ruleset the agent accepts, in bytes. A 1,000,000-address set in the repository
 * format (2-space indent, as `nft-sync import` writes it) is 25 MB; 64 MiB leaves room for the
 * rules around it. A 1,000,000-prefix set written that way is 124 MB: raise --max-ruleset-bytes.
 */
export const DEFAULT_MAX_RULESET_BYTES = AGENT_DEFAULTS.wire.maxRulesetBytes;
/** Room kept in a `publish` frame for its header: the live ruleset may take welcome.maxFrame minus this. */
export const PUBLISH_HEADER_ROOM = 4096;
/** Largest --max-ruleset-bytes: what a frame's 4-byte length can carry with a header and a proof. */
export const MAX_RULESET_BYTES_LIMIT = 0xffff_ffff - MAX_HEADER_BYTES - 1 - PROOF_ALLOWANCE_BYTES;

export interface WireClientOptions {
  host: string;
  port: number;
  /** The agent's name, sent in hello. */
  agent?: string;
  /** A token for servers run with --read-token-required, sent in hello (plain TCP; never logged). */
  token?: string;
  /** TLS connection options; plain TCP without them. */
  tls?: tls.ConnectionOptions;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Largest ruleset accepted from the server, in bytes (default DEFAULT_MAX_RULESET_BYTES). */
  maxRulesetBytes?: number;
  software?: string;
  /** Local address to connect from (multi-homed hosts; simulated fleets in bench/fanout.ts). */
  localAddress?: string;
  /** A lockout guard's check connection: said in hello; the server then takes only pings. */
  check?: boolean;
}

export type { FetchResult };

interface Pending {
  resolve(msg: ServerMessage, body?: Buffer): void;
  reject(err: NftSyncError): void;
  timer: NodeJS.Timeout;
  /** Largest frame this request's answer may come in (fetches only). */
  frameAllowance?: number;
}

export interface WireClientEvents {
  moved: [ref: string, commit: string];
  /**
   * An `ahead` frame was rebuilt over the bytes in force (blob `base`): the fetch after the
   * `moved` that follows will likely carry these very `edits` (the agent may work out what they
   * mean now). Nothing of it has been checked against a blob id.
   */
  ahead: [base: string, edits: readonly LineEdit[]];
  close: [err: NftSyncError | undefined];
}

export class WireClient extends EventEmitter<WireClientEvents> {
  readonly welcome: WelcomeMessage;
  readonly #socket: net.Socket;
  readonly #reader: MessageReader<ServerMessage>;
  readonly #pending = new Map<number, Pending>();
  readonly #requestTimeoutMs: number;
  readonly #maxRulesetBytes: number;
  /** A subscribe asked for `ahead` frames (protocol version 2): only then are they taken. */
  #aheadAsked = false;
  #nextId = 1;
  #closed = false;
  #heartbeat: NodeJS.Timeout | undefined;
  #lastFrame = Date.now();
  #lastSent = Date.now();
  /** Memory and a hashing thread for big delta answers (delta-answers.ts). */
  readonly #answers = new DeltaAnswers();

  private constructor(socket: net.Socket, reader: MessageReader<ServerMessage>, welcome: WelcomeMessage, opts: WireClientOptions) {
    super();
    this.#socket = socket;
    this.#reader = reader;
    this.welcome = welcome;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? AGENT_DEFAULTS.wire.requestTimeoutMs;
    this.#maxRulesetBytes = opts.maxRulesetBytes ?? DEFAULT_MAX_RULESET_BYTES;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.#shutdown(new NftSyncError('NFTSYNC_ERR_CONN_CLOSED', 'server closed the connection')));
    socket.on('error', (err) => this.#shutdown(new NftSyncError('NFTSYNC_ERR_CONN_CLOSED', `connection error: ${err.message}`, { cause: err })));
    if (welcome.heartbeat > 0) this.#startHeartbeat(welcome.heartbeat);
  }

  /**
   * Connect and complete the handshake. Resolves once the server's welcome arrived: only then is
   * the link known to work (under TLS 1.3 a refused client may see its handshake complete).
   * Errors: NFTSYNC_ERR_CONN_FAILED (refused, unreachable, timed out), or the server's error.
   */
  static connect(opts: WireClientOptions): Promise<WireClient> {
    const timeoutMs = opts.connectTimeoutMs ?? AGENT_DEFAULTS.wire.connectTimeoutMs;
    const where = `${opts.host}:${opts.port}`;
    return new Promise((resolve, reject) => {
      const reader = new MessageReader<ServerMessage>(SERVER_MESSAGE_TYPES, PRE_HANDSHAKE_MAX_FRAME);
      const socket = opts.tls
        ? tls.connect({ ...opts.tls, host: opts.host, port: opts.port, ...(opts.localAddress && { localAddress: opts.localAddress }) })
        : net.connect({ host: opts.host, port: opts.port, ...(opts.localAddress && { localAddress: opts.localAddress }) });
      let settled = false;
      const fail = (err: NftSyncError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(new NftSyncError('NFTSYNC_ERR_CONN_FAILED', `no answer from ${where} within ${timeoutMs} ms`)), timeoutMs);
      socket.setNoDelay(true);
      let secured = false;
      const classify = (err?: Error) => connectError(where, err, { tls: Boolean(opts.tls), secured });
      socket.on('error', (err) => fail(classify(err)));
      socket.on('close', () => fail(classify()));
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => {
        secured = true;
        const hello: ClientMessage = { type: 'hello', versions: [...PROTOCOL_VERSIONS], software: opts.software ?? 'nft-sync' };
        if (opts.agent) hello.agent = opts.agent;
        if (opts.token) hello.token = opts.token;
        if (opts.check) hello.check = true;
        socket.write(encodeMessage(hello));
      });
      const onData = (chunk: Buffer) => {
        let first;
        try {
          reader.write(chunk);
          first = reader.read();
        } catch (err) {
          fail(toNftSyncError(err, 'NFTSYNC_ERR_MSG_MALFORMED'));
          return;
        }
        if (!first) return;
        if (first.message.type === 'error') {
          fail(NftSyncError.fromJSON(first.message));
          return;
        }
        if (first.message.type !== 'welcome') {
          fail(new NftSyncError('NFTSYNC_ERR_MSG_UNEXPECTED', `expected welcome, got ${first.message.type}`));
          return;
        }
        settled = true;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.removeAllListeners('error');
        socket.removeAllListeners('close');
        reader.setMaxFrame(IDLE_MAX_FRAME);
        const client = new WireClient(socket, reader, first.message, opts);
        resolve(client);
        // Frames that arrived in the same chunk as the welcome.
        client.#onData(Buffer.alloc(0));
      };
      socket.on('data', onData);
    });
  }

  /**
   * Ask for the ruleset at `ref`. Errors: NFTSYNC_ERR_REF_INVALID or NFTSYNC_ERR_RULESET_NAME_INVALID
   * before anything is sent; then the server's (REF_NOT_FOUND, RULESET_NOT_FOUND, ...).
   */
  async fetch(req: { ref: string; track?: boolean; ruleset?: string; have?: Revision; proof?: boolean; base?: Buffer; checkBehind?: boolean }): Promise<FetchResult> {
    // Refuse bad names here, with their own codes, rather than have the server close the link.
    if (req.track) assertTagPattern(req.ref);
    else assertRef(req.ref);
    if (req.ruleset !== undefined) assertRulesetName(req.ruleset);
    const { track, base, ...rest } = req;
    // With the bytes of `have` at hand (and no proof asked: a proof covers the whole blob), a delta may come.
    const delta = base !== undefined && req.have !== undefined && req.proof !== true;
    const allowance = fetchFrameAllowance({ maxRulesetBytes: this.#maxRulesetBytes, proof: req.proof === true });
    const asked = { maxRulesetBytes: this.#maxRulesetBytes, proof: req.proof === true };
    const request = { type: 'fetch' as const, id: 0, ...rest, ...(track ? { track } : {}) };
    const { message, body } = await this.#request({ ...request, ...(delta ? { delta: true } : {}) }, allowance);
    if (!delta) return fetchResult(message, body, asked);
    // A delta that does not rebuild the announced bytes is never used: the whole ruleset is
    // fetched instead (once; its answer is checked as any other), and the result says why.
    // The bytes an `ahead` frame rebuilt, which this answer may take, are there once the worker has written them.
    await this.#answers.settled(message);
    const answer = this.#answers.read(message, body, { ...asked, base: { blob: req.have!.blob, bytes: base } });
    const whole = async (refused: string): Promise<FetchResult> => {
      const full = await this.#request(request, allowance);
      const result = fetchResult(full.message, full.body, asked);
      return result.kind === 'ruleset' ? { ...result, deltaRefused: refused } : result;
    };
    const r = answer.result;
    if (r?.kind === 'ruleset' && r.delta !== undefined && r.bytes.length >= SPARE_MIN_BYTES) {
      // Big bytes rebuilt: their blob id is being computed in a worker; the agent plans meanwhile
      // and acts on them only once blobCheck says they are the announced blob.
      let checked: Promise<FetchResult | undefined> | undefined;
      const blobCheck = (): Promise<FetchResult | undefined> => (checked ??= answer.refusal.then((refused) => (refused === undefined ? undefined : whole(refused))));
      return { ...r, blobCheck };
    }
    const refused = await answer.refusal;
    if (refused === undefined) {
      if (answer.error) throw answer.error;
      return r!;
    }
    return whole(refused);
  }

  /**
   * The agent is idle with `inForce` in force (RevisionFetcher.idle): memory for the next delta's
   * rebuild is made ready now, and the lines of `inForce` indexed (delta-answers.ts). Never throws.
   */
  idle(inForce: Buffer): void {
    if (!this.#closed) this.#answers.idle(inForce);
  }

  /**
   * Follow `ref` (with `track`, the highest version among the tags matching the pattern `ref`):
   * 'moved' events come when it moves. Resolves with its current commit, or undefined when it
   * does not exist yet (then 'moved' comes when it appears). Following a branch of a server that
   * speaks protocol version 2, the client asks for `ahead` frames (a small delta of the revision
   * the branch moves to, before `moved`), which it rebuilds and hashes ahead of the fetch's
   * answer (delta-answers.ts).
   */
  async subscribe(ref: string, opts: { track?: boolean } = {}): Promise<string | undefined> {
    if (opts.track) assertTagPattern(ref);
    else assertRef(ref);
    const ahead = !opts.track && this.welcome.version >= 2;
    if (ahead) this.#aheadAsked = true;
    const { message } = await this.#request({ type: 'subscribe', id: 0, ref, ...(opts.track ? { track: true } : {}), ...(ahead && { ahead: true }) });
    if (message.type !== 'subscribed') throw new NftSyncError('NFTSYNC_ERR_MSG_UNEXPECTED', `subscribe answered with ${message.type}`);
    return message.commit;
  }

  /** Send a status report; resolves when the server acknowledged it. */
  async report(status: AgentStatus): Promise<void> {
    await this.#request({ type: 'report', id: 0, status });
  }

  /**
   * Publish a live change (agent --publish): `bytes` as a new revision of `ruleset` on branch
   * `ref`, from `base` (the commit the agent had applied). Resolves with where the branch is now.
   * Errors: the server's (PUBLISH_DENIED, PUBLISH_CONFLICT, PUBLISH_RACED, PUSH_REFUSED...);
   * NFTSYNC_ERR_FRAME_TOO_LARGE before anything is sent when the frame would pass welcome.maxFrame.
   */
  async publish(req: { ref: string; ruleset: string; base: string; bytes: Buffer }): Promise<{ commit: string; blob: string; rebased: boolean; unchanged: boolean }> {
    assertRef(req.ref);
    assertRulesetName(req.ruleset);
    if (req.bytes.length + PUBLISH_HEADER_ROOM > this.welcome.maxFrame) {
      throw new NftSyncError('NFTSYNC_ERR_FRAME_TOO_LARGE', `the live ruleset takes ${req.bytes.length} bytes; this connection may send frames of at most ${this.welcome.maxFrame} (publishing needs a write credential)`, {
        data: { length: req.bytes.length, limit: this.welcome.maxFrame },
      });
    }
    const { message } = await this.#request({ type: 'publish', id: 0, ref: req.ref, ruleset: req.ruleset, base: req.base, size: req.bytes.length }, undefined, req.bytes);
    if (message.type !== 'published') throw new NftSyncError('NFTSYNC_ERR_MSG_UNEXPECTED', `publish answered with ${message.type}`);
    return { commit: message.commit, blob: message.blob, rebased: message.rebased, unchanged: message.unchanged };
  }

  /** Round trip to the server; resolves with the time it took in ms. */
  async ping(): Promise<number> {
    const t0 = performance.now();
    await this.#request({ type: 'ping', id: 0 });
    return performance.now() - t0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Close the connection; pending requests fail with NFTSYNC_ERR_CONN_CLOSED. */
  close(): void {
    this.#shutdown(undefined);
    this.#socket.end();
    this.#socket.destroySoon();
  }

  /** Send `msg`; its answer may come in a frame of up to `frameAllowance` bytes (default IDLE_MAX_FRAME). */
  #request(msg: Exclude<ClientMessage, { type: 'hello' }>, frameAllowance?: number, body?: Buffer): Promise<{ message: ServerMessage; body?: Buffer }> {
    if (this.#closed) return Promise.reject(new NftSyncError('NFTSYNC_ERR_CONN_CLOSED', 'connection is closed'));
    const id = this.#nextId++;
    if (this.#nextId > 0xffff_fff0) this.#nextId = 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#updateFrameLimit();
        reject(new NftSyncError('NFTSYNC_ERR_TIMEOUT', `${msg.type} got no answer within ${this.#requestTimeoutMs} ms`));
      }, this.#requestTimeoutMs);
      this.#pending.set(id, { resolve: (message, body) => resolve({ message, body }), reject, timer, ...(frameAllowance !== undefined && { frameAllowance }) });
      this.#updateFrameLimit();
      this.#lastSent = Date.now();
      this.#socket.write(encodeMessage({ ...msg, id }, body));
    });
  }

  /** The frame limit: IDLE_MAX_FRAME, or the largest allowance of the fetches outstanding. */
  #frameLimit(): number {
    let limit = IDLE_MAX_FRAME;
    for (const p of this.#pending.values()) if (p.frameAllowance !== undefined && p.frameAllowance > limit) limit = p.frameAllowance;
    return limit;
  }

  #updateFrameLimit(): void {
    this.#reader.setMaxFrame(this.#frameLimit());
  }

  #onData(chunk: Buffer): void {
    this.#lastFrame = Date.now();
    try {
      this.#reader.write(chunk);
      for (let m = this.#reader.read(); m !== undefined && !this.#closed; m = this.#reader.read()) this.#dispatch(m.message, m.body);
    } catch (err) {
      let e = toNftSyncError(err, 'NFTSYNC_ERR_MSG_MALFORMED');
      const length = e.data?.length;
      if (e.code === 'NFTSYNC_ERR_FRAME_TOO_LARGE' && typeof length === 'number' && this.#frameLimit() > IDLE_MAX_FRAME) {
        // A fetch is outstanding: say which setting bounds the answer.
        e = rulesetTooLarge(length, this.#maxRulesetBytes);
      }
      this.#shutdown(e);
      this.#socket.destroy();
    }
  }

  #dispatch(msg: ServerMessage, body?: Buffer): void {
    if (msg.type === 'moved') {
      this.emit('moved', msg.ref, msg.commit);
      return;
    }
    if (msg.type === 'ahead') {
      // Taken only as asked for: protocol version 2, after a subscribe that asked.
      if (body === undefined || this.#closed || !this.#aheadAsked) return;
      const edits = this.#answers.ahead(msg, body, this.#maxRulesetBytes)?.edits;
      if (edits !== undefined) this.emit('ahead', msg.base, edits);
      return;
    }
    const id = 'id' in msg ? msg.id : undefined;
    const pending = id === undefined ? undefined : this.#pending.get(id);
    if (msg.type === 'error' && (msg.fatal || !pending)) {
      this.#shutdown(NftSyncError.fromJSON(msg));
      this.#socket.destroy();
      return;
    }
    if (!pending || id === undefined) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    this.#updateFrameLimit();
    if (msg.type === 'error') pending.reject(NftSyncError.fromJSON(msg));
    else pending.resolve(msg, body);
  }

  #startHeartbeat(intervalMs: number): void {
    this.#heartbeat = setInterval(() => {
      const now = Date.now();
      const idle = now - this.#lastFrame;
      if (idle > intervalMs * 3) {
        this.#shutdown(new NftSyncError('NFTSYNC_ERR_TIMEOUT', `no frame from the server for ${idle} ms`));
        this.#socket.destroy();
        return;
      }
      // Ping when either direction has been quiet, so the server's idle timer never fires on a
      // healthy link and a dead one is noticed within three intervals.
      if (idle >= intervalMs || now - this.#lastSent >= intervalMs) this.ping().catch(() => {});
    }, intervalMs);
    this.#heartbeat.unref();
  }

  #shutdown(err: NftSyncError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    void this.#answers.close();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(err ?? new NftSyncError('NFTSYNC_ERR_CONN_CLOSED', 'connection closed'));
    }
    this.#pending.clear();
    this.emit('close', err);
  }
}

/**
 * One agent's connection to the server: the version handshake, then requests answered in the
 * order they came. Any framing or message error (malformed, oversized, out of order, too slow)
 * gets an error frame with its code and closes this connection only; request-level errors (an
 * unknown ref, a missing ruleset) get an error frame with the request's id and the connection
 * stays open.
 *
 * What a client sends is bounded by what clients need: 4 KiB until hello, 64 KiB per frame after
 * it (reports included, a report's status at most MAX_REPORT_BYTES), so no client can make the
 * server buffer or parse more than that per connection. Only answers are big (`maxAnswerFrame`).
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import { encodeMessage } from '../../shared/wire/message-codec.js';
import { MessageReader } from '../../shared/wire/message-reader.js';
import { encodeRulesetDelta } from '../../shared/wire/ruleset-delta.js';
import {
  CLIENT_MESSAGE_TYPES,
  HELLO_MAX_FRAME,
  MAX_REPORT_BYTES,
  type ClientMessage,
  type FetchMessage,
  type HelloMessage,
  type PublishMessage,
  type MovedMessage,
  type ServerMessage,
  WRITER_MAX_FRAME,
} from '../../shared/wire/messages.js';
import { tokenOwner as ownerOfToken, type TokenEntry } from '../../shared/config/token-list.js';
import type { PublishCall } from '../publish/publish-service.js';
import type { PublishResult } from '../publish/publish-revision.js';
import type { AgentRegistry } from '../agents/agent-registry.js';
import type { AheadFrame, AnswerFrames } from './answer-frames.js';
import type { DropLog } from './drop-log.js';
import type { ReadBudget } from './read-budget.js';
import { checkHello } from './hello-check.js';
import { allowedRuleset, isTlsSocket } from '../auth/peer-identity.js';
import { proofReader, readRulesetPath, readTagChain } from '../git/release-proof.js';
import type { RulesetSource } from '../git/ruleset-source.js';
import { FrameDeadline } from './frame-deadline.js';
import type { MoveListener, SubscriptionHub } from './subscription-hub.js';
import { SERVER_DEFAULTS } from '../defaults.js';

export interface SessionLimits {
  /** Largest frame accepted from the client after hello (announced as welcome.maxFrame). */
  maxClientFrame: number;
  /** Largest frame the server sends: a ruleset answer over it is refused (--max-frame). */
  maxAnswerFrame: number;
  /**
   * Time allowed from TCP accept to a valid hello, TLS handshake included (absolute, not an
   * idle timeout).
   */
  handshakeTimeoutMs: number;
  /** Time allowed from a frame's first byte to its last (slow-loris guard; 0: none). */
  frameTimeoutMs: number;
  /** Interval at which agents are asked to ping; a link silent for three of them is closed. */
  heartbeatMs: number;
  /** Requests queued per connection before the server stops reading from it. */
  maxQueued: number;
  /**
   * Distinct refs (and tag patterns) one connection may follow. An agent follows one; without a
   * cap one client could make every push re-resolve any number of refs and grow the hub at will.
   */
  maxSubscriptions: number;
  /**
   * Bytes a connection may leave unread beyond the answer being written (`moved` frames, pongs):
   * past it the agent is not reading, and the connection is dropped (the drop log says so).
   */
  maxUnreadBytes: number;
  /**
   * Time the server waits for a connection to take any of what it was sent (0: forever). One
   * that takes nothing for this long is dropped: it would hold its answers in memory for good.
   */
  writeStallMs: number;
}

/** Publishes a live change for a session (server/publish/publish-service.ts). */
export type PublishHandler = { publish(call: PublishCall): Promise<PublishResult> };
/** Staged rollouts (server/rollout/rollout-controller.ts): the revision each agent is served. */
export interface RolloutGate {
  /**
   * The revision to serve `agent` for subscription key `key` (a ref as spelled, or
   * `track:PATTERN`) whose ref resolves to `latest`: `latest`, or an earlier revision while a
   * rollout holds the agent's wave back.
   */
  revisionFor(agent: string | undefined, key: string, latest: { commit: string; tag?: string }): Promise<{ commit: string; tag?: string }>;
  /**
   * Whether a rollout may hold agents following `key` back (revisionFor may answer other than
   * `latest`); absent: taken as yes. Must not throw.
   */
  governs?(key: string): boolean;
}

export interface SessionContext {
  source: RulesetSource;
  hub: SubscriptionHub;
  registry: AgentRegistry;
  logger: Logger;
  limits: SessionLimits;
  serverName: string;
  /** Tokens a plain-TCP hello must carry one of (--read-token-required); undefined: none needed. */
  helloTokens?: readonly TokenEntry[];
  /** Tokens whose hello gives write rights (publish) over plain TCP; undefined: none do. */
  writeTokens?: readonly TokenEntry[];
  /** Handles publish; undefined: refused. */
  publish?: PublishHandler;
  /** Where connections closed for a protocol error are counted (a rate-limited log). */
  drops?: DropLog;
  /** Bytes each remote address may send (all its connections together); none: unlimited. */
  budget?: ReadBudget;
  /** Staged rollouts; none: every agent gets each ref's latest revision. */
  rollouts?: RolloutGate;
  /** Called after each report is kept (rollouts look at it at once). */
  onReport?(): void;
  /** Encoded answers shared by all connections (once per revision and ruleset); none: each encodes its own. */
  frames?: AnswerFrames;
}

/** How a connection came in. */
export interface SessionAdmission {
  /**
   * Set when the connection was let in over the total cap, into the room kept for lockout-guard
   * checks: its hello must say `check`, else it gets NFTSYNC_ERR_SERVER_BUSY with this message.
   */
  overCap?: string;
}

/** Bytes of answers a connection may have buffered before its next request waits for a drain. */
const ANSWER_BUFFER_BYTES = 256 * 1024;

export class WireSession implements MoveListener {
  readonly #socket: Socket;
  readonly #ctx: SessionContext;
  readonly #reader = new MessageReader<ClientMessage>(CLIENT_MESSAGE_TYPES, HELLO_MAX_FRAME);
  readonly #address: string;
  #log: Logger;
  #agent: string | undefined;
  /** What gives this connection write rights (`token of OWNER`, `certificate`), if anything. */
  #writer: string | undefined;
  /** Whether this connection is counted in the registry (a full registry may not take it). */
  #registered = false;
  #ready = false;
  #closing = false;
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  /** Reading stays paused until then (Date.now() ms): the address went over its read budget. */
  #throttledUntil = 0;
  readonly #subscriptions = new Set<string>();
  /** The refs this agent asked `ahead` frames for (protocol version 2). */
  readonly #aheadKeys = new Set<string>();
  /** The protocol version agreed in hello. */
  #version = 1;
  /** The commit whose `ahead` frame this connection was last sent (aheadNow): `moved` does not repeat it. */
  #aheadSent: string | undefined;
  /** The commit this connection was last told of in `moved`: an `ahead` frame for it comes too late. */
  #lastMoved: string | undefined;
  /** What this server's last fetch answer served this agent (or said it had): `ahead` goes only to a holder of its base (#holds). */
  #lastServed: { ruleset: string; commit: string; blob: string } | undefined;
  /** Per subscription key, the revision this agent was last told (`commit tag`); with rollouts only. */
  readonly #told = new Map<string, string>();
  /** `moved` decisions of a rollout are made in order, one after the other. */
  #moves: Promise<void> = Promise.resolve();
  readonly #deadline: FrameDeadline;
  readonly #admission: SessionAdmission;
  /** A lockout guard's check connection: pings only, closed after the first pong. */
  #check = false;
  /** Bytes of the answer being written; buffered bytes beyond it count as unread. */
  #answerBytes = 0;
  /** Watches a socket whose buffer does not drain (writeStallMs). */
  #stallTimer: NodeJS.Timeout | undefined;
  #flushedAtMark = 0;

  /**
   * `acceptedAt` (ms, Date.now()) is when the TCP connection was accepted, before any TLS
   * handshake: the hello deadline counts from then.
   */
  constructor(socket: Socket, ctx: SessionContext, acceptedAt = Date.now(), admission: SessionAdmission = {}) {
    this.#socket = socket;
    this.#ctx = ctx;
    this.#admission = admission;
    this.#address = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.#log = ctx.logger.child({ connection: this.#address });
    socket.setNoDelay(true);
    socket.setTimeout(ctx.limits.handshakeTimeoutMs);
    const { handshakeTimeoutMs } = ctx.limits;
    const left = handshakeTimeoutMs > 0 ? Math.max(1, handshakeTimeoutMs - (Date.now() - acceptedAt)) : 0;
    this.#deadline = new FrameDeadline(left, ctx.limits.frameTimeoutMs ?? 0, (why) =>
      this.#fail(new NftSyncError('NFTSYNC_ERR_PROTO_TIMEOUT', why)),
    );
    socket.on('timeout', () =>
      this.#fail(new NftSyncError('NFTSYNC_ERR_PROTO_TIMEOUT', this.#ready ? 'no frame for three heartbeat intervals' : 'no hello within the handshake timeout')),
    );
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => {
      try {
        this.#reader.end();
      } catch (err) {
        this.#log.warn({ err: toNftSyncError(err).toJSON() }, 'connection ended mid-frame');
      }
      socket.end();
    });
    socket.on('error', (err) => this.#log.debug({ err: err.message }, 'socket error'));
    socket.on('close', () => this.#cleanup());
    socket.on('drain', () => {
      this.#answerBytes = 0;
      this.#clearStall();
    });
  }

  /** Whether this is a lockout guard's check connection (said so in hello). */
  get check(): boolean {
    return this.#check;
  }

  /** The agent name given in hello, once the handshake is done. */
  get agent(): string | undefined {
    return this.#agent;
  }

  /** Close the connection now (server shutdown). */
  destroy(): void {
    this.#closing = true;
    this.#socket.destroy();
  }

  /**
   * SubscriptionHub callback: a subscribed ref moved, or a tracked tag pattern chose another tag
   * (a higher tag on the same commit too). The tag is not sent: version 1 agents refuse a field
   * they do not know, and the agent's next fetch answers with it.
   */
  moved(key: string, commit: string, tag?: string): void {
    const gate = this.#ctx.rollouts;
    if (gate) {
      this.#moves = this.#moves
        .then(async () => this.#tell(key, await gate.revisionFor(this.#agent, key, { commit, ...(tag !== undefined && { tag }) })))
        .catch((err: unknown) => this.#log.warn({ err: toNftSyncError(err).toJSON(), key }, 'moved not sent'));
      return;
    }
    this.#sendMoved(key, commit);
  }

  /**
   * A rollout changed who is served what (wave served, resume, abort): tell this agent of its
   * revision of each ref it follows that `isGoverned` says the rollout governs, if that changed.
   */
  rolloutChanged(isGoverned: (key: string) => boolean, latest: (key: string) => { commit: string; tag?: string } | undefined): void {
    for (const key of this.#subscriptions) {
      const now = isGoverned(key) ? latest(key) : undefined;
      if (now) this.moved(key, now.commit, now.tag);
    }
  }

  /** Send `moved` with the revision served, unless it is the one this agent was last told. */
  #tell(key: string, served: { commit: string; tag?: string }): void {
    const told = `${served.commit} ${served.tag ?? ''}`;
    if (this.#told.get(key) === told) return;
    this.#told.set(key, told);
    this.#sendMoved(key, served.commit);
  }

  #sendMoved(key: string, commit: string): void {
    const pattern = trackedPattern(key);
    const msg: MovedMessage = pattern === undefined ? { type: 'moved', ref: key, commit } : { type: 'moved', ref: pattern, track: true, commit };
    const moved = this.#ctx.frames ? this.#ctx.frames.moved(msg) : encodeMessage(msg);
    this.#lastMoved = commit;
    const ahead = this.#aheadKeys.has(key) && this.#aheadSent !== commit ? this.#ctx.frames?.ahead(key, commit) : undefined;
    this.#write(ahead !== undefined && this.#holds(ahead) ? [ahead.frame, moved] : [moved]);
  }

  /**
   * WireServer.ahead: send branch `ref`'s (a full ref name) `ahead` frame for `commit` now, when
   * this connection follows that branch asking for it, #holds says it is for it, no rollout may
   * hold the agent back (the frame then goes with `moved`, as the rollout decides) and `moved`
   * for it was not sent already; `moved` then does not send it again. Returns whether it was sent.
   * Never throws.
   */
  aheadNow(ref: string, commit: string): boolean {
    if (this.#closing || this.#aheadKeys.size === 0 || this.#lastMoved === commit) return false;
    const gate = this.#ctx.rollouts;
    for (const key of this.#aheadKeys) {
      const frame = this.#ctx.frames?.ahead(key, commit);
      if (frame === undefined || frame.ref !== ref || !this.#holds(frame)) continue;
      // Where a rollout decides who is served what, the frame goes with `moved`, which it decides.
      if (gate !== undefined && (gate.governs?.(key) ?? true)) continue;
      this.#aheadSent = commit;
      this.#write([frame.frame]);
      return true;
    }
    return false;
  }

  /**
   * Whether `ahead` is for this agent: this server's last answer to its fetches served (or said it
   * had) the delta's base, that ruleset at the commit the new one was made on. The ruleset was
   * then the agent's to fetch (under TLS: nft-sync.yaml's choice, allowedRuleset), and the element
   * API's commit changed nothing but its elements; an agent's own word (its report) never decides.
   */
  #holds(ahead: AheadFrame): boolean {
    const s = this.#lastServed;
    return s !== undefined && s.ruleset === ahead.ruleset && s.blob === ahead.base && s.commit === ahead.parent;
  }

  #onData(chunk: Buffer): void {
    if (this.#closing) return;
    this.#throttle(chunk.length);
    if (this.#agent && !this.#check) this.#ctx.registry.seen(this.#agent);
    try {
      this.#reader.write(chunk);
      // One message at a time: hello raises the frame limit before the next frame is read.
      for (let m = this.#reader.read(); m !== undefined && !this.#closing; m = this.#closing ? undefined : this.#reader.read()) {
        const { message } = m;
        if (!this.#ready) {
          if (message.type !== 'hello') throw new NftSyncError('NFTSYNC_ERR_MSG_UNEXPECTED', `expected hello first, got ${message.type}`);
          this.#hello(message);
        } else if (message.type === 'hello') {
          throw new NftSyncError('NFTSYNC_ERR_MSG_UNEXPECTED', 'hello sent twice');
        } else if (message.type === 'report' && this.#agent === undefined) {
          // A report is kept under the name this connection gave in hello, and only that one.
          throw new NftSyncError('NFTSYNC_ERR_MSG_UNEXPECTED', 'report on a connection whose hello named no agent: give the agent name in hello');
        } else {
          this.#enqueue(message, m.body);
        }
      }
      this.#deadline.update(this.#reader.pendingBytes);
    } catch (err) {
      this.#fail(toNftSyncError(err, 'NFTSYNC_ERR_MSG_MALFORMED'));
    }
  }

  #hello(msg: HelloMessage): void {
    // Under TLS the agent's name must be one its certificate carries: no name, no service. Over
    // plain TCP with --read-token-required, a token. Throws to #onData, which fails the link.
    const { version, tokenOwner } = checkHello(msg, this.#socket, this.#ctx.helloTokens);
    if (this.#admission.overCap !== undefined && msg.check !== true) {
      throw new NftSyncError('NFTSYNC_ERR_SERVER_BUSY', this.#admission.overCap, { data: { cause: 'globalCap' } });
    }
    this.#check = msg.check === true;
    this.#version = version;
    this.#ready = true;
    this.#deadline.handshakeDone();
    this.#agent = msg.agent;
    // A write credential: the certificate (checked above), or a token from --token-file.
    const writeOwner = this.#ctx.writeTokens === undefined ? undefined : ownerOfToken(this.#ctx.writeTokens, msg.token);
    this.#writer = isTlsSocket(this.#socket) ? 'certificate' : writeOwner === undefined ? undefined : `token of ${writeOwner}`;
    if (this.#check) {
      this.#log = this.#log.child({ check: true, ...(msg.agent && { agent: msg.agent }) });
    } else if (msg.agent) {
      this.#log = this.#log.child({ agent: msg.agent });
      this.#registered = this.#ctx.registry.connected(msg.agent, this.#socket.remoteAddress ?? '?');
    }
    const { heartbeatMs } = this.#ctx.limits;
    // A writer may send a whole ruleset (publish); anyone else only small requests.
    const maxClientFrame = this.#writer !== undefined && this.#ctx.publish ? Math.max(this.#ctx.limits.maxClientFrame, WRITER_MAX_FRAME) : this.#ctx.limits.maxClientFrame;
    this.#reader.setMaxFrame(maxClientFrame);
    this.#socket.setTimeout(heartbeatMs > 0 ? heartbeatMs * 3 : 0);
    this.#send({ type: 'welcome', version, server: this.#ctx.serverName, maxFrame: maxClientFrame, heartbeat: heartbeatMs });
    this.#log.debug({ version, software: msg.software, ...(tokenOwner && { tokenOwner }) }, 'handshake done');
  }

  #enqueue(msg: Exclude<ClientMessage, HelloMessage>, body?: Buffer): void {
    if (this.#check && msg.type !== 'ping') {
      throw new NftSyncError('NFTSYNC_ERR_MSG_UNEXPECTED', `${msg.type} on a check connection: a check connection (hello with check) may only ping`);
    }
    this.#queued += 1;
    if (this.#queued >= this.#ctx.limits.maxQueued) this.#socket.pause();
    this.#queue = this.#queue
      .then(() => this.#handle(msg, body))
      .catch(async (err) => {
        const e = toNftSyncError(err);
        if (e.code === 'NFTSYNC_ERR_SERVER_INTERNAL') this.#log.error({ err: e.toJSON(), request: msg.type }, 'request failed');
        await this.#sendAndDrain({ type: 'error', id: msg.id, code: e.code, message: e.message, retryable: e.retryable, fatal: false });
      })
      .finally(() => {
        this.#queued -= 1;
        this.#resumeIfAllowed();
      });
  }

  async #handle(msg: Exclude<ClientMessage, HelloMessage>, body?: Buffer): Promise<void> {
    switch (msg.type) {
      case 'publish':
        await this.#publish(msg, body ?? Buffer.alloc(0));
        return;
      case 'ping':
        await this.#sendAndDrain({ type: 'pong', id: msg.id });
        if (this.#check) {
          // The check is done: free its room at once.
          this.#closing = true;
          this.#socket.end();
          setTimeout(() => this.#socket.destroy(), 1000).unref();
        }
        return;
      case 'fetch':
        await this.#fetch(msg);
        return;
      case 'subscribe': {
        const key = msg.track ? trackKey(msg.ref) : msg.ref;
        if (msg.ahead === true && (this.#version < 2 || msg.track === true)) {
          throw new NftSyncError('NFTSYNC_ERR_MSG_INVALID', msg.track === true ? '`ahead` is not for a tracked tag pattern' : `\`ahead\` needs protocol version 2; this connection speaks ${this.#version}`);
        }
        if (!this.#subscriptions.has(key) && this.#subscriptions.size >= this.#ctx.limits.maxSubscriptions) {
          throw new NftSyncError('NFTSYNC_ERR_MSG_INVALID', `this connection already follows ${this.#subscriptions.size} refs, the most one connection may follow`, {
            data: { maxSubscriptions: this.#ctx.limits.maxSubscriptions },
          });
        }
        // A ref that does not exist yet (a release not yet tagged, a branch not yet pushed) can
        // be followed too: the agent hears `moved` the moment it appears.
        const resolved = await this.#resolve(msg.ref, msg.track).catch((err: unknown) => {
          if (err instanceof NftSyncError && err.code === 'NFTSYNC_ERR_REF_NOT_FOUND') return undefined;
          throw err;
        });
        // The hub keeps the ref's latest revision; the agent is answered with the one it is served.
        const served = resolved && (await this.#served(key, resolved));
        const commit = served?.commit;
        if (served) this.#told.set(key, `${served.commit} ${served.tag ?? ''}`);
        this.#subscriptions.add(key);
        if (msg.ahead === true) this.#aheadKeys.add(key);
        this.#ctx.hub.add(key, resolved?.commit ?? '', this, resolved?.tag);
        await this.#sendAndDrain({ type: 'subscribed', id: msg.id, ref: msg.ref, ...(commit ? { commit } : {}) });
        return;
      }
      case 'report': {
        if (msg.status.agent !== this.#agent) {
          throw new NftSyncError('NFTSYNC_ERR_MSG_INVALID', `report for agent ${msg.status.agent} on the connection of ${this.#agent}`);
        }
        // The frame limit bounds one report; this bounds what the registry keeps of each agent.
        const size = Buffer.byteLength(JSON.stringify(msg.status));
        if (size > MAX_REPORT_BYTES) {
          throw new NftSyncError('NFTSYNC_ERR_MSG_INVALID', `report of ${size} bytes from ${this.#agent}: a status may take at most ${MAX_REPORT_BYTES} bytes (shorten the condition messages)`, {
            data: { size, limit: MAX_REPORT_BYTES },
          });
        }
        const address = this.#socket.remoteAddress ?? '?';
        // Room may have been made since hello found the registry full.
        if (!this.#registered) this.#registered = this.#ctx.registry.connected(msg.status.agent, address);
        this.#ctx.registry.report(msg.status, address);
        this.#ctx.onReport?.();
        await this.#sendAndDrain({ type: 'ack', id: msg.id });
        return;
      }
    }
  }

  /** A live change (agent --publish): see server/publish/. */
  async #publish(msg: PublishMessage, body: Buffer): Promise<void> {
    if (!this.#ctx.publish) throw new NftSyncError('NFTSYNC_ERR_PUBLISH_DENIED', 'this server does not take published changes');
    const r = await this.#ctx.publish.publish({ agent: this.#agent, credential: this.#writer, ref: msg.ref, ruleset: msg.ruleset, base: msg.base, bytes: body });
    await this.#sendAndDrain({ type: 'published', id: msg.id, ref: msg.ref, commit: r.commit, blob: r.blob, rebased: r.rebased, unchanged: r.unchanged });
  }

  async #fetch(msg: FetchMessage): Promise<void> {
    const { source } = this.#ctx;
    const resolved = await this.#served(msg.track ? trackKey(msg.ref) : msg.ref, await this.#resolve(msg.ref, msg.track));
    // With a proof the tag decides the commit, so tag, commit and ruleset come from one reading.
    const chain = msg.proof ? await readTagChain(proofReader(source), resolved.tag ?? msg.ref) : undefined;
    const commit = chain?.commit ?? resolved.commit;
    const tag = resolved.tag;
    const ruleset =
      isTlsSocket(this.#socket) && this.#agent
        ? await allowedRuleset(source, this.#agent, commit, msg.ruleset, msg.proof === true)
        : (msg.ruleset ?? (this.#agent ? await source.rulesetForAgent(commit, this.#agent) : 'default'));
    const { blob, bytes } = await source.readRuleset(commit, ruleset);
    this.#checkAnswerSize(ruleset, commit, bytes.length);
    // Never move an agent back (a replica behind it): it keeps what it has until this server
    // has caught up, and is told so when it asked (`checkBehind`: it then holds and says so, and
    // refuses to move unless told `behind: false`). A tracked release is guarded by the agent
    // itself (a lower tag is refused). A primary has no `behind`: it is never behind.
    const said = msg.checkBehind === true && msg.have !== undefined && !msg.track;
    if (msg.have && msg.have.commit !== commit && !msg.track && (await source.behind?.(msg.have.commit))) {
      this.#log.info({ agent: this.#agent, have: msg.have.commit, here: commit }, 'agent is ahead of this replica: answered unchanged until the mirror catches up');
      await this.#sendAndDrain({ type: 'unchanged', id: msg.id, ref: msg.ref, ruleset, commit: msg.have.commit, blob: msg.have.blob, ...(said && { behind: true }) });
      return;
    }
    const extra = { ...(tag !== undefined && { tag }), ...(said && { behind: false }) };
    this.#lastServed = { ruleset, commit, blob };
    if (msg.have && msg.have.blob === blob) {
      await this.#sendAndDrain({ type: 'unchanged', id: msg.id, ref: msg.ref, ...extra, ruleset, commit, blob });
      return;
    }
    if (chain) {
      // An agent that named no ruleset checks the server's choice against the signed nft-sync.yaml.
      const objects = [...chain.objects, ...(await readRulesetPath(proofReader(source), commit, ruleset, { withConfig: msg.ruleset === undefined }))];
      const proof = objects.map((o) => ({ type: o.type, id: o.id, size: o.content.length }));
      this.#checkAnswerSize(ruleset, commit, bytes.length + proof.reduce((n, p) => n + p.size, 0));
      await this.#sendAndDrain({ type: 'ruleset', id: msg.id, ref: msg.ref, ...extra, ruleset, commit, blob, size: bytes.length, proof }, Buffer.concat([bytes, ...objects.map((o) => o.content)]));
      return;
    }
    // A delta is per agent (against its own `have`): never from the shared frame cache.
    const delta = msg.delta === true && msg.have ? await this.#deltaFrom(msg.have, ruleset, bytes, blob) : undefined;
    if (delta) {
      await this.#sendAndDrain({ type: 'ruleset', id: msg.id, ref: msg.ref, ...extra, ruleset, commit, blob, size: delta.length, delta: { base: msg.have!.blob, size: bytes.length } }, delta);
      return;
    }
    const answer = { type: 'ruleset' as const, id: msg.id, ref: msg.ref, ...extra, ruleset, commit, blob, size: bytes.length };
    if (this.#ctx.frames) await this.#drainAfter(this.#ctx.frames.ruleset(answer, bytes));
    else await this.#sendAndDrain(answer, bytes);
  }

  /**
   * The delta from the agent's `have` to `bytes` (shared/wire/ruleset-delta.ts), or undefined
   * when there is none worth sending: `have` is not ruleset `ruleset` at its commit in this
   * repository, or the delta would not be under half the ruleset. Never throws.
   */
  async #deltaFrom(have: { commit: string; blob: string }, ruleset: string, bytes: Buffer, blob: string): Promise<Buffer | undefined> {
    try {
      const base = await this.#ctx.source.readRuleset(have.commit, ruleset);
      if (base.blob !== have.blob) return undefined;
      // Worked out once per pair of blobs for all connections (server/wire/answer-frames.ts).
      const frames = this.#ctx.frames;
      return frames ? frames.delta(base.blob, blob, () => encodeRulesetDelta(base.bytes, bytes)) : encodeRulesetDelta(base.bytes, bytes);
    } catch {
      return undefined;
    }
  }

  /** Spend `bytes` of the address's read budget; over it, stop reading until it refills. */
  #throttle(bytes: number): void {
    const waitMs = this.#ctx.budget?.spend(this.#socket.remoteAddress ?? '?', bytes) ?? 0;
    if (waitMs <= 0) return;
    this.#throttledUntil = Math.max(this.#throttledUntil, Date.now() + waitMs);
    this.#socket.pause();
    setTimeout(() => this.#resumeIfAllowed(), waitMs).unref();
  }

  /** Read again unless closing, the request queue is full, or the read budget is spent. */
  #resumeIfAllowed(): void {
    if (this.#closing || this.#queued >= this.#ctx.limits.maxQueued) return;
    const left = this.#throttledUntil - Date.now();
    if (left > 0) {
      // A timer counts from the loop's cached time, so after a long turn of the loop it fires
      // early by the clock: look again then, or this socket would stay paused for good.
      setTimeout(() => this.#resumeIfAllowed(), left).unref();
      return;
    }
    this.#socket.resume();
  }

  /** Refuse to send an answer whose body alone would pass the server's --max-frame. */
  #checkAnswerSize(ruleset: string, commit: string, bodyBytes: number): void {
    const limit = this.#ctx.limits.maxAnswerFrame;
    // The header is well under a kilobyte; 4 KiB of room keeps the check simple and safe.
    if (bodyBytes + 4096 > limit) {
      throw new NftSyncError('NFTSYNC_ERR_FRAME_TOO_LARGE', `ruleset ${ruleset} at ${commit.slice(0, 12)} takes ${bodyBytes} bytes, more than the server's --max-frame of ${limit}: raise it`, {
        data: { ruleset, commit, length: bodyBytes, limit },
      });
    }
  }

  /** A ref, or with `track` the highest version among the tags matching the pattern. */
  async #resolve(ref: string, track: boolean | undefined): Promise<{ commit: string; tag?: string }> {
    if (track) return this.#ctx.source.resolveTrackedTag(ref);
    return { commit: await this.#ctx.source.resolveRef(ref) };
  }

  /** What this agent is served of `key` resolving to `latest` (the rollout's say, if any). */
  async #served(key: string, latest: { commit: string; tag?: string }): Promise<{ commit: string; tag?: string }> {
    const gate = this.#ctx.rollouts;
    return gate ? gate.revisionFor(this.#agent, key, latest) : latest;
  }

  #send(msg: ServerMessage, body?: Uint8Array): boolean {
    return this.#write([encodeMessage(msg, body)]);
  }

  /**
   * Write one frame (in parts, corked together); false when the socket's buffer is full. A
   * connection that leaves more than maxUnreadBytes unread beyond the answer being written is
   * dropped instead: it is not reading, and must not make the server hold its frames.
   */
  #write(parts: Buffer[], answer = false): boolean {
    if (this.#closing || this.#socket.destroyed) return true;
    const { maxUnreadBytes } = this.#ctx.limits;
    if (maxUnreadBytes > 0 && this.#socket.writableLength > this.#answerBytes + maxUnreadBytes) {
      this.#dropNotReading(`${this.#socket.writableLength} bytes unread`);
      return true;
    }
    const bytes = parts.reduce((n, p) => n + p.length, 0);
    if (answer) this.#answerBytes = this.#socket.writableLength + bytes;
    let ok = true;
    if (parts.length === 1) ok = this.#socket.write(parts[0]!);
    else {
      this.#socket.cork();
      for (const p of parts) ok = this.#socket.write(p);
      this.#socket.uncork();
    }
    if (!ok) this.#watchStall();
    return ok;
  }

  /**
   * Send and wait until the socket can take more, so one slow reader cannot pile up buffers.
   * Every answer goes through here (pongs and acks too): the request queue then stalls on a
   * client that does not read, and the socket is paused once maxQueued requests wait.
   */
  async #sendAndDrain(msg: ServerMessage, body?: Uint8Array): Promise<void> {
    await this.#drainAfter([encodeMessage(msg, body)]);
  }

  /** Write an answer's frame (#write) and wait until the socket can take more. */
  async #drainAfter(parts: Buffer[]): Promise<void> {
    // The kernel usually takes a 20 KB answer at once, but write() says false for anything over
    // the stream's 16 KiB mark: waiting for that 'drain' cost every answer a turn of the event
    // loop. Wait only when the answer really stays buffered past ANSWER_BUFFER_BYTES.
    if (this.#write(parts, true) || this.#socket.writableLength <= ANSWER_BUFFER_BYTES) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.#socket.off('drain', done);
        this.#socket.off('close', done);
        resolve();
      };
      this.#socket.on('drain', done);
      this.#socket.on('close', done);
    });
  }

  /** Bytes the socket has handed to the kernel so far. */
  #flushed(): number {
    return this.#socket.bytesWritten - this.#socket.writableLength;
  }

  /** The buffer is full: drop the connection if it takes nothing for writeStallMs. */
  #watchStall(): void {
    const ms = this.#ctx.limits.writeStallMs;
    if (ms <= 0 || this.#stallTimer !== undefined) return;
    this.#flushedAtMark = this.#flushed();
    const check = () => {
      const now = this.#flushed();
      if (now > this.#flushedAtMark) {
        this.#flushedAtMark = now;
        this.#stallTimer = setTimeout(check, ms);
        this.#stallTimer.unref();
        return;
      }
      this.#stallTimer = undefined;
      this.#dropNotReading(`took none of ${this.#socket.writableLength} bytes in ${ms} ms`);
    };
    this.#stallTimer = setTimeout(check, ms);
    this.#stallTimer.unref();
  }

  #clearStall(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }

  /** Drop a connection that does not read what it is sent (counted in the drop log). */
  #dropNotReading(why: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#ctx.drops?.note('notReading', this.#socket.remoteAddress ?? '?', why);
    this.#log.debug({ why }, 'dropping a connection that does not read what it is sent');
    this.#socket.destroy();
  }

  /** Send a fatal error frame and close this connection (only this one). */
  #fail(err: NftSyncError): void {
    if (this.#closing) return;
    // A hostile client can make thousands of these a second: counted, and logged one line per
    // interval by the drop log (with the last code and the busiest addresses); each in full at
    // debug level.
    if (this.#ctx.drops) {
      const reason = err.code === 'NFTSYNC_ERR_SERVER_BUSY' ? 'globalCap' : this.#ready ? 'protocolError' : 'noHello';
      this.#ctx.drops.note(reason, this.#socket.remoteAddress ?? '?', err.code);
      this.#log.debug({ err: err.toJSON() }, 'closing connection after protocol error');
    } else {
      this.#log.warn({ err: err.toJSON() }, 'closing connection after protocol error');
    }
    this.#send({ type: 'error', code: err.code, message: err.message, retryable: err.retryable, fatal: true });
    this.#closing = true;
    // Stop reading: a hostile peer may be pushing hundreds of megabytes. Destroying now would
    // reset the connection and the peer could lose the error frame, so it gets a second.
    this.#socket.pause();
    this.#socket.end();
    // A peer that never reads would keep the socket half-open; do not wait for it.
    setTimeout(() => this.#socket.destroy(), SERVER_DEFAULTS.wire.closeLingerMs).unref();
  }

  #cleanup(): void {
    this.#closing = true;
    this.#deadline.clear();
    this.#clearStall();
    this.#ctx.hub.remove(this);
    if (this.#agent && this.#registered) this.#ctx.registry.disconnected(this.#agent);
  }
}

/**
 * Subscription keys: a ref as the agent spelled it, or `track:PATTERN` for a tracked tag
 * pattern. A ref can never contain ':' (git check-ref-format), so the two cannot collide.
 */
const TRACK_PREFIX = 'track:';

/** The hub key of a tracked tag pattern. */
export function trackKey(pattern: string): string {
  return TRACK_PREFIX + pattern;
}

/** The pattern of a tracked-tag hub key, or undefined for a plain ref. */
export function trackedPattern(key: string): string | undefined {
  return key.startsWith(TRACK_PREFIX) ? key.slice(TRACK_PREFIX.length) : undefined;
}

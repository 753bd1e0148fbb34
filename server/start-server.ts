/**
 * A running nft-sync server: the repository reader, the ref watcher, the wire protocol listener
 * and the HTTP listener, started together and stopped together.
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import { NftSyncError } from '../shared/errors.js';
import { formatHostPort, isLoopback, type HostPort } from '../shared/wire/host-port.js';
import type { TokenEntry } from '../shared/config/token-list.js';
import { AgentRegistry } from './agents/agent-registry.js';
import { buildHttpApp } from './http/http-app.js';
import type { HttpTimeouts } from './http/http-timeouts.js';
import { installPreReceiveHook } from './push/pre-receive-hook.js';
import { PublishService } from './publish/publish-service.js';
import { PushCheckService } from './push/push-check-service.js';
import { RefWatcher, type RefWatcherOptions } from './git/ref-watcher.js';
import { RolloutController, rolloutName } from './rollout/rollout-controller.js';
import { RolloutFollower } from './replica/rollout-follower.js';
import { coalesceRolloutChanges } from './rollout/coalesce-rollout-changes.js';
import { RulesetRepository, type RulesetRepositoryOptions } from './git/ruleset-repository.js';
import { ServerMetrics } from './http/server-metrics.js';
import { WireServer, type WireServerOptions } from './wire/wire-server.js';
import { SERVER_DEFAULTS } from './defaults.js';
import { displayUrl, GitMirror } from './replica/git-mirror.js';
import { replicaSource } from './replica/replica-source.js';
import { readOnlyReplica } from './git/git-http.js';
import { ReportForwarder } from './replica/report-forwarder.js';

/** A read-only replica's primary (--mirror-of). */
export interface MirrorOf {
  /** The primary's git smart-HTTP URL (`http://HOST:PORT/git/rules.git`). */
  url: string;
  /** Sent to the primary as any git client sends it (NFT_SYNC_TOKEN, --mirror-token-file). */
  token?: string;
  /** How often the primary's refs are asked for (default SERVER_DEFAULTS.replica.pollMs). */
  pollMs?: number;
  /** Hear of each push from the primary at once (default true; see server/replica/git-mirror.ts). */
  notifications?: boolean;
}

// What `nft-sync server` needs besides startServer: the token file loader and its flags'
// defaults. The CLI imports server/ only through this file and tools.ts.
export { loadTokenFile } from './auth/load-token-file.js';
export { AGENT_REGISTRY_DEFAULTS } from './agents/agent-registry.js';
export { HTTP_TIMEOUT_DEFAULTS, type HttpTimeouts } from './http/http-timeouts.js';
export { WIRE_SERVER_DEFAULTS } from './wire/wire-server.js';

export interface ServerOptions {
  /** The repository served; with `mirrorOf`, where the mirror is kept (cloned when absent or empty). */
  repo: string;
  /**
   * Run as a read-only replica of this primary: `repo` is a git mirror of it, kept up to date
   * (server/replica/git-mirror.ts); pushes and API writes are refused with
   * NFTSYNC_ERR_READ_ONLY_REPLICA naming it.
   */
  mirrorOf?: MirrorOf;
  listen: HostPort;
  http?: HostPort;
  logger: Logger;
  tls?: tls.TlsOptions;
  /** Allow plain TCP on a non-loopback address. */
  insecurePlaintext?: boolean;
  /**
   * Tokens allowed to write (--token-file): pushes over HTTP and API changes. Without them,
   * HTTP writes are allowed only when the HTTP listener is on loopback.
   */
  tokens?: readonly TokenEntry[];
  /**
   * Reads need a token too (only with `tokens`): git over HTTP, the API's reads, and the wire
   * protocol over plain TCP (a token in hello; under mutual TLS the certificate is enough).
   */
  readTokenRequired?: boolean;
  /** The HTTP listener's time limits (server/http/http-timeouts.ts); unset ones take the defaults. */
  httpTimeouts?: Partial<HttpTimeouts>;
  /** Install or update the pre-receive validator hook at start (default true). */
  installHook?: boolean;
  /**
   * Let the hook hand its checks to this server over `GIT_DIR/nft-sync/hook.sock`
   * (server/push/push-check-service.ts; default: as installHook). Off, every push starts the full
   * validator in the hook's own process: the same checks, slower.
   */
  pushCheckSocket?: boolean;
  wire?: Partial<Pick<WireServerOptions, 'limits' | 'maxConnections' | 'checkConnections' | 'maxConnectionsPerAddress' | 'dropLogIntervalMs' | 'readBudget' | 'answerFramesBytes'>>;
  /** How the repository is read (caches; tests count ref file reads through readRefFile). */
  repository?: RulesetRepositoryOptions;
  /** How ref moves are noticed (server/git/ref-watcher.ts: file events and a poll, by default both). */
  refWatch?: Pick<RefWatcherOptions, 'pollMs' | 'fsEvents'>;
  /** Most agents the registry remembers (--max-agents; default 10,000). */
  maxAgents?: number;
  /**
   * How long close() lets HTTP requests in flight (a push, a clone) finish before closing their
   * connections, which also stops their git processes (default 10 s). Without a bound one
   * stalled client would keep the server from ever stopping.
   */
  shutdownGraceMs?: number;
}

export interface RunningServer {
  wire: WireServer;
  repository: RulesetRepository;
  wireAddress: AddressInfo;
  httpAddress: AddressInfo | undefined;
  /** The pre-receive hand-off, when offered (see ServerOptions.pushCheckSocket). */
  pushChecks: PushCheckService | undefined;
  /** The mirror of the primary, on a replica (`mirrorOf`). */
  mirror: GitMirror | undefined;
  /** What forwards this replica's agents' reports to the primary, on a replica (`mirrorOf`). */
  forwarder: ReportForwarder | undefined;
  /** Staged rollouts: decided here, or on a replica followed from the primary. */
  rollouts: RolloutController | RolloutFollower;
  close(): Promise<void>;
}

/**
 * Start everything. Errors: NFTSYNC_ERR_LISTEN_INSECURE (plain TCP on a public address without
 * `insecurePlaintext`), NFTSYNC_ERR_REPO_NOT_FOUND, NFTSYNC_ERR_CONFIG_INVALID (cannot listen).
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  if (!opts.tls && !opts.insecurePlaintext && !isLoopback(opts.listen.host)) {
    throw new NftSyncError(
      'NFTSYNC_ERR_LISTEN_INSECURE',
      `refusing plain TCP on ${opts.listen.host}: give --tls-ca, --tls-cert and --tls-key, or --insecure-plaintext if the network is trusted`,
    );
  }
  const log = opts.logger;
  const mirror = opts.mirrorOf ? await GitMirror.open({ ...opts.mirrorOf, gitdir: opts.repo, logger: log }) : undefined;
  // On a replica, set once the wire listener's address (its name for the primary) is known.
  let forwarder: ReportForwarder | undefined;
  const repository = await RulesetRepository.open(opts.repo, opts.repository);
  if (opts.installHook !== false && !mirror) {
    const hook = await installPreReceiveHook(repository.gitdir).catch((err: Error) => `not installed: ${err.message}`);
    if (hook === 'foreign') log.warn({ gitdir: repository.gitdir }, 'hooks/pre-receive is not nft-sync\'s: pushes are validated only if it runs `nft-sync hook pre-receive`');
    else if (hook.startsWith('not installed')) log.warn({ gitdir: repository.gitdir, hook }, 'could not install the pre-receive validator hook');
    else log.debug({ hook }, 'pre-receive validator hook');
  }
  const publisher = new PublishService({ gitdir: repository.gitdir, logger: log, resolveRef: (ref) => repository.resolveRef(ref), repoConfig: (commit) => repository.repoConfig(commit) });
  const warming = publisher.warm();
  const registry = new AgentRegistry({ maxAgents: opts.maxAgents, onChange: (name) => forwarder?.changed(name) });
  // Staged rollouts: nft-sync.yaml `rollouts:`; state in GIT_DIR/nft-sync/rollouts.json.
  let wire: WireServer | undefined;
  // One walk of the connections for all the rollouts a turn changed (a primary's answer names many).
  const onChange = coalesceRolloutChanges((names) => wire?.rolloutChanged((key) => names.has(rolloutName(key))));
  // A replica follows the primary's rollouts, which count the whole fleet (rollout-follower.ts).
  const rollouts = mirror
    ? new RolloutFollower({ primary: new URL('/', displayUrl(mirror.url)).href, token: opts.mirrorOf?.token, repoConfig: (commit) => repository.repoConfig(commit), logger: log, onChange })
    : new RolloutController({
        source: repository,
        agents: () => registry.list().map((a) => ({ name: a.name, connected: a.connected, status: a.status })),
        logger: log,
        onChange,
      });
  await rollouts.start();
  wire = new WireServer({
    source: mirror ? replicaSource(repository, mirror) : repository,
    logger: log,
    tls: opts.tls,
    registry,
    helloTokens: opts.readTokenRequired === true ? opts.tokens : undefined,
    writeTokens: opts.tokens,
    // A replica takes no published change either: it names the primary, as for a push.
    publish: mirror ? { publish: async () => Promise.reject(readOnlyReplica(displayUrl(mirror.url))) } : publisher,
    rollouts,
    // The primary's rollouts look at reports (a replica's reach it through the forwarder).
    onReport: rollouts instanceof RolloutController ? () => rollouts.poke() : undefined,
    ...opts.wire,
  });
  const metrics = new ServerMetrics();
  // Who waits for the next ref move (GET /api/v1/refs/changes: replicas hear of a push at once).
  const refListeners = new Set<() => void>();
  const watcher = new RefWatcher({ gitdir: repository.gitdir, listRefs: () => repository.listRefs(), ...opts.refWatch });
  watcher.on('error', (err) => log.warn({ err: err.message }, 'ref scan failed; retrying at the next event'));
  watcher.on('moved', (ref: string, commit: string | undefined) => {
    log.info({ ref, commit }, 'ref moved');
    metrics.refMoves += 1;
    // Rollouts first, so the hub's `moved` finds each new tip's rollout already started, and a
    // replica told of the move (refListeners) finds it in GET /api/v1/rollouts.
    // With the refs the watcher's scan just read: not read again (a few ms before agents are told).
    void rollouts
      .refsChanged(watcher.snapshot())
      .catch((err: Error) => log.warn({ err: err.message }, 'rollouts not updated'))
      .then(() => {
        for (const listener of [...refListeners]) listener();
        wire!.refsChanged();
      });
  });
  await watcher.start();
  // Fetches resolve refs from the watcher's copy from now on, not from the ref files.
  repository.useRefView(watcher);
  if (mirror) log.info({ primary: displayUrl(mirror.url) }, 'read-only replica: following the primary');
  mirror?.start();
  const pushChecks = !mirror && (opts.pushCheckSocket ?? opts.installHook !== false) ? await PushCheckService.start({ gitdir: repository.gitdir, logger: log }) : undefined;
  const wireAddress = await wire.listen(opts.listen.host, opts.listen.port).catch(async (err: unknown) => {
    watcher.stop();
    await mirror?.stop();
    await pushChecks?.close();
    await warming.then(() => publisher.close());
    throw err;
  });
  log.info({ address: wireAddress, tls: Boolean(opts.tls) }, 'wire protocol listening');
  if (mirror) {
    const via = formatHostPort({ host: wireAddress.address, port: wireAddress.port });
    forwarder = new ReportForwarder({ primary: new URL('/', displayUrl(mirror.url)).href, token: opts.mirrorOf?.token, via, registry: wire.registry, logger: log });
  }
  let httpAddress: AddressInfo | undefined;
  const app = opts.http
    ? await buildHttpApp({
        repository,
        registry: wire.registry,
        rollouts,
        logger: log,
        tokens: opts.tokens,
        anonymousWrites: isLoopback(opts.http.host),
        readTokenRequired: opts.readTokenRequired,
        timeouts: opts.httpTimeouts,
        metrics,
        wireConnections: () => wire.connections,
        git: { gitdir: repository.gitdir },
        replicaOf: mirror ? displayUrl(mirror.url) : undefined,
        fleet: forwarder && (() => forwarder!.fleet()),
        replica: mirror && (() => ({ primary: displayUrl(mirror.url), syncedAt: mirror.syncedAt, primaryReachable: mirror.primaryReachable, fetches: mirror.fetches, forwarded: forwarder?.forwarded ?? 0 })),
        // The element API's delta for the agents, ready before the branch moves, and the move
        // itself, told at once (server/git/element-tips.ts).
        elementEvents: {
          delta: (base, target, delta) => wire.frames.primeDelta(base, target, delta),
          ahead: (ref, commit, ahead) => void wire.ahead(ref, commit, ahead),
          moved: (ref, commit, old) => watcher.refsWritten({ ref, commit, old }),
        },
        onRefMove: (listener) => {
          const once = () => (refListeners.delete(once), listener());
          refListeners.add(once);
          return () => refListeners.delete(once);
        },
      })
    : undefined;
  if (app && opts.http) {
    try {
      await app.listen({ host: opts.http.host, port: opts.http.port });
    } catch (cause) {
      // Stop what already runs, or the wire listener keeps a failed server process alive.
      watcher.stop();
      await Promise.all([wire.close(), app.close(), pushChecks?.close(), warming.then(() => publisher.close()), mirror?.stop(), forwarder?.stop()]);
      throw new NftSyncError('NFTSYNC_ERR_CONFIG_INVALID', `cannot listen on ${opts.http.host}:${opts.http.port} (--http): ${(cause as Error).message}`, { cause });
    }
    httpAddress = app.server.address() as AddressInfo;
    log.info({ address: httpAddress }, 'http listening');
  }
  return {
    wire,
    repository,
    wireAddress,
    httpAddress,
    pushChecks,
    mirror,
    forwarder,
    rollouts,
    async close() {
      watcher.stop();
      await Promise.all([mirror?.stop(), forwarder?.stop()]);
      // Answer the replicas' long polls now, or each would hold the HTTP close for its grace.
      for (const listener of [...refListeners]) listener();
      await rollouts.close();
      // HTTP first: a push in flight may still hand its check to pushChecks until it ends.
      await Promise.all([wire.close(), app && closeHttp(app, opts.shutdownGraceMs ?? SERVER_DEFAULTS.http.shutdownGraceMs, log)]);
      await pushChecks?.close(opts.shutdownGraceMs ?? SERVER_DEFAULTS.http.shutdownGraceMs);
      await warming;
      await publisher.close();
    },
  };
}

/** Close the HTTP app; requests still running after `graceMs` have their connections closed. */
async function closeHttp(app: FastifyInstance, graceMs: number, log: Logger): Promise<void> {
  const closed = app.close();
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      log.warn({ graceMs }, 'HTTP requests still running at shutdown: closing their connections');
      app.server.closeAllConnections();
      resolve();
    }, graceMs);
  });
  try {
    await Promise.race([closed, grace]);
    await closed;
  } finally {
    clearTimeout(timer);
  }
}

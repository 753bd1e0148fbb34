/**
 * The agent daemon: put the last-known-good ruleset back if the host lost it, then connect,
 * follow the ref and reconcile on every move, reporting status after each pass. When the server
 * is unreachable the ruleset in force stays and the agent retries with capped, jittered backoff.
 */
import type tls from 'node:tls';
import { toNftSyncError } from '../shared/errors.js';
import { Backoff, BACKOFF_DEFAULTS, sleep, type BackoffOptions } from './backoff.js';
import { Reconciler, type ReconcileOutcome, type ReconcilerOptions } from './reconcile/reconciler.js';
import { WireClient } from './wire/wire-client.js';
import type { ServerEndpoint } from './wire/server-endpoint.js';
import { DEFAULT_CONFIRM_WINDOW_S, wireProbe } from './reconcile/confirm-revision.js';
import { formatHostPort } from '../shared/wire/host-port.js';
import { DriftWatcher, type DriftReport } from './drift/drift-watcher.js';
import { LivePublisher } from './publish/live-publisher.js';

export interface AgentDaemonOptions extends ReconcilerOptions {
  host: string;
  port: number;
  tls?: tls.ConnectionOptions;
  /**
   * Every server the agent may follow, in order of preference (`--server A,B,C`); default: the
   * one at host/port. The agent follows the first that answers and, when it goes away, the next.
   */
  servers?: readonly ServerEndpoint[];
  /** Token for a server run with --read-token-required (sent in hello). */
  token?: string;
  backoff?: Partial<BackoffOptions>;
  /** Commit-confirmed window in ms (default DEFAULT_CONFIRM_WINDOW_S s; 0: off); ignored when `confirm` is given. */
  confirmWindowMs?: number;
  /** Largest ruleset accepted from the server (default DEFAULT_MAX_RULESET_BYTES). */
  maxRulesetBytes?: number;
  /** Watch for drift (default true; agent/drift/drift-watcher.ts). */
  watchDrift?: boolean;
  /** Put the revision back on drift (default true). */
  selfHeal?: boolean;
  /** Periodic drift comparison in ms (default DEFAULT_DRIFT_INTERVAL_S s; 0: off). */
  driftIntervalMs?: number;
  /** Called after every detected drift. */
  onDrift?: (report: DriftReport) => void;
  /** Called when an unhealed drift cleared (the tables match the revision again). */
  onDriftCleared?: () => void;
  /** Called each time the drift event source is listening (at start and after each restart). */
  onDriftListening?: () => void;
  /** Follow drift with the netlink listener (default true); false: with nft -j monitor. */
  driftListener?: boolean;
  /**
   * Publish live changes of the managed tables to the followed branch instead of healing them
   * (agent/publish/live-publisher.ts); the quiet period in ms (default 500).
   */
  publish?: { quietMs?: number };
  /** Called after every reconcile pass (tests and the CLI use it). */
  onOutcome?: (outcome: ReconcileOutcome) => void;
}

/**
 * Run until `signal` aborts, then resolve once any pass in flight has ended. Errors: none; a
 * corrupt state directory is logged and treated as empty (Reconciler.open), and everything later
 * is logged, reported and retried.
 */
export async function runAgentDaemon(opts: AgentDaemonOptions, signal: AbortSignal): Promise<void> {
  const log = opts.logger;
  // The watcher must know the PIDs of every nft the agent starts and wrap its big loads (to
  // tell its own transactions from anyone else's), so the reconciler gets a hooked runner;
  // the hooks reach the watcher once it exists.
  let watcher: DriftWatcher | undefined;
  const nft =
    opts.watchDrift === false
      ? opts.nft
      : opts.nft.withHooks({ spawned: (pid) => watcher?.noteOwnPid(pid), aroundApply: (bytes, run) => (watcher ? watcher.aroundOwnLoad(bytes, run) : run()) });
  const servers: readonly ServerEndpoint[] = opts.servers?.length ? opts.servers : [{ host: opts.host, port: opts.port, tls: opts.tls }];
  // The server in use: followed now, and probed through a new revision (the commit-confirmed
  // guard reaches the server the revision came from).
  let index = 0;
  const probes = servers.map((server) => wireProbe({ ...server, agent: opts.agent, token: opts.token }));
  const confirm = opts.confirm ?? { windowMs: opts.confirmWindowMs ?? DEFAULT_CONFIRM_WINDOW_S * 1000, probe: (ms: number) => probes[index]!(ms) };
  const reconciler = await Reconciler.open({ ...opts, nft, confirm });
  try {
    await reconciler.recoverInterrupted();
  } catch (err) {
    log.error({ err: toNftSyncError(err).toJSON() }, 'could not restore the last confirmed ruleset over an unconfirmed one');
  }
  try {
    await reconciler.restoreLastKnownGood();
  } catch (err) {
    log.error({ err: toNftSyncError(err).toJSON() }, 'could not re-apply the last-known-good ruleset');
  }
  let current: WireClient | undefined;
  const publisher = opts.publish
    ? new LivePublisher({ nft, reconciler, logger: log, ref: opts.ref, quietMs: opts.publish.quietMs, client: () => current, onCondition: () => reportNow() })
    : undefined;
  const status = () => withPublishCondition(reconciler.status(), publisher);
  const reportNow = () => current?.report(status()).catch((err) => log.warn({ err: toNftSyncError(err).toJSON() }, 'status report failed'));
  watcher =
    opts.watchDrift === false
      ? undefined
      : new DriftWatcher({
          nft,
          reconciler,
          logger: log,
          selfHeal: opts.selfHeal,
          intervalMs: opts.driftIntervalMs,
          listener: opts.driftListener,
          publisher,
          onDrift: (report) => {
            reportNow();
            opts.onDrift?.(report);
          },
          onCleared: () => {
            reportNow();
            opts.onDriftCleared?.();
          },
          onListening: () => opts.onDriftListening?.(),
        });
  watcher?.start();
  signal.addEventListener(
    'abort',
    () => {
      watcher?.stop();
      publisher?.stop();
      // Stopping in the middle of an apply or its confirm window waits for it to end, so
      // nothing changes nft after the daemon has gone: say so, and what will happen.
      if (reconciler.busy) log.info({ confirmWindowMs: confirm.windowMs }, 'stopping once the change in flight ends: a revision in its confirm window stays if the server is reached through it in time, else the previous ruleset is restored');
    },
    { once: true },
  );
  const backoff = new Backoff(opts.backoff);
  const capMs = opts.backoff?.capMs ?? BACKOFF_DEFAULTS.capMs;
  // Connection attempts since a session last started: a server that cannot be reached sends the
  // agent to the next one at once, until every server of the list failed in a row; only then
  // (and after a session that ended) does it wait out the backoff.
  let failedInRow = 0;
  while (!signal.aborted) {
    let client: WireClient | undefined;
    let delay: number | undefined;
    const server = servers[index]!;
    try {
      client = await WireClient.connect({ host: server.host, port: server.port, agent: opts.agent, tls: server.tls, token: opts.token, maxRulesetBytes: opts.maxRulesetBytes });
      current = client;
      backoff.reset();
      failedInRow = 0;
      log.info({ server: formatHostPort(server) }, 'connected');
      await followRef(client, reconciler, opts, signal, { status, publisher });
    } catch (err) {
      const e = toNftSyncError(err);
      reconciler.noteError(e);
      if (!client) failedInRow += 1;
      if (e.retryable) {
        // A link that worked and dropped (the server restarted): the whole fleet lost it at
        // once, so spread the first reconnect wide; a failed connect waits the usual backoff.
        delay = client !== undefined ? backoff.afterDrop(servers.length > 1 ? 'next server' : 'same server') : backoff.next();
        log.warn({ err: e.toJSON(), server: formatHostPort(server), retryInMs: delay }, 'server unreachable; ruleset in force stays');
      } else {
        // A person must act (a --name the certificate does not carry, no protocol in common):
        // say what it is, and try again only at the longest interval, not as a failure that passes.
        delay = capMs;
        const what = e.code === 'NFTSYNC_ERR_TLS_IDENTITY' ? 'the server refused this agent\'s TLS identity (--name must be a name its certificate carries)' : 'the server refused this agent';
        log.error({ err: e.toJSON(), server: formatHostPort(server), retryInMs: delay }, `${what}; ruleset in force stays`);
      }
    } finally {
      current = undefined;
      client?.close();
    }
    if (signal.aborted) break;
    if (servers.length > 1) {
      index = (index + 1) % servers.length;
      // A server that went away or could not be reached: the next one is tried at once while
      // some server of this round is untried (bounded: at most one round without a pause).
      if (failedInRow > 0 && failedInRow < servers.length) {
        log.info({ server: formatHostPort(servers[index]!) }, 'trying the next server');
        continue;
      }
      if (failedInRow >= servers.length) failedInRow = 0;
    }
    await sleep(delay ?? backoff.next(), signal);
  }
  watcher?.stop();
  await reconciler.settled();
  // The nft waiting for a load (NftRunner.warm) goes with the daemon.
  await nft.close();
}

/** The reconciler's status, with the publisher's `Published` condition when it has one. */
function withPublishCondition(status: ReturnType<Reconciler['status']>, publisher: LivePublisher | undefined): ReturnType<Reconciler['status']> {
  const c = publisher?.condition;
  if (c) status.conditions.push(c);
  return status;
}

/**
 * Subscribe, reconcile now and on every move, until the connection closes or `signal` aborts.
 * With a publisher, what it has pending is published before each pass applies anything.
 */
async function followRef(client: WireClient, reconciler: Reconciler, opts: AgentDaemonOptions, signal: AbortSignal, hooks: { status: () => ReturnType<Reconciler['status']>; publisher?: LivePublisher }): Promise<void> {
  let running: Promise<void> | undefined;
  let again = false;
  const pass = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = passes().finally(() => (running = undefined));
    return running;
  };
  // A pass that failed for a reason that may pass by itself (a server error, a timeout) is tried
  // again with backoff while the link is up, not only at the next ref move or reconnect.
  const retry = new Backoff(opts.backoff);
  let retryTimer: NodeJS.Timeout | undefined;
  const passes = async (): Promise<void> => {
    clearTimeout(retryTimer);
    let outcome;
    do {
      again = false;
      if (hooks.publisher?.pending) await hooks.publisher.flush();
      outcome = await reconciler.reconcile(client);
      await client.report(hooks.status()).catch((err) => opts.logger.warn({ err: toNftSyncError(err).toJSON() }, 'status report failed'));
      opts.onOutcome?.(outcome);
    } while (again && !client.closed && !signal.aborted);
    if (outcome.kind !== 'failed') retry.reset();
    else if (outcome.error.retryable && !client.closed && !signal.aborted) {
      const delay = retry.next();
      opts.logger.info({ code: outcome.error.code, delayMs: delay }, 'retrying a failure that may pass by itself');
      retryTimer = setTimeout(() => void pass(), delay);
    }
  };
  const closed = new Promise<void>((resolve, reject) => {
    client.on('close', (err) => (err ? reject(err) : resolve()));
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
  // The delta of the revision a branch moves to, mostly well before `moved`: its batch worked out
  // while the agent waits (on the next turn, so a `moved` that came with it sends its fetch first;
  // a pass already under way then works it out itself).
  client.on('ahead', (base, edits) => setImmediate(() => reconciler.foresee(base, edits)));
  client.on('moved', (ref, commit) => {
    opts.logger.info({ ref, commit }, 'ref moved');
    void pass();
  });
  await client.subscribe(opts.ref, { track: opts.track });
  try {
    await pass();
    await closed;
  } finally {
    // A pass started by 'moved' may still be applying or inside its confirm window: the daemon
    // has not stopped until it has ended (restored or confirmed), so nothing changes nft after.
    await running?.catch(() => {});
    clearTimeout(retryTimer);
  }
}

/**
 * Commit-confirmed, the lockout guard: after a new revision is applied the agent must reach its
 * server again THROUGH the new ruleset (a fresh TCP connection, the handshake and a ping: the
 * connection it already has may survive on conntrack state while new ones are dropped) within
 * the confirm window. If it cannot, the previous ruleset is put back in one atomic transaction.
 *
 * The default window is 30 s: long enough for a server that is busy or a few hundred ms away to
 * answer several probes (each probe may take up to the remaining window), short enough that an
 * operator locked out by a bad push gets the host back before giving up on it. 0 turns it off.
 */
import type tls from 'node:tls';
import type { Logger } from 'pino';
import { NftSyncError, toNftSyncError } from '../../shared/errors.js';
import type { Ruleset, TableRef } from '../../shared/ruleset/ruleset-types.js';
import { applyRuleset } from './apply-ruleset.js';
import { sleep } from '../backoff.js';
import type { NftRunner } from '../../host/nft-runner.js';
import { verifyRevision } from './verify-revision.js';
import { WireClient } from '../wire/wire-client.js';
import { AGENT_DEFAULTS } from '../defaults.js';

/** Default confirm window in seconds (see the file comment for why). */
export const DEFAULT_CONFIRM_WINDOW_S = AGENT_DEFAULTS.confirm.windowS;

/** Pause between failed probes, so a refused connection does not spin. */
const PROBE_PAUSE_MS = AGENT_DEFAULTS.confirm.probePauseMs;
/**
 * Pause after a probe the server turned away as busy: random up to this, so a fleet checking the
 * same revision at once spreads its retries instead of returning in lockstep every 250 ms (each
 * refused attempt is work for a server that is already full).
 */
const BUSY_PAUSE_MS = 2000;
/**
 * After the first, a probe starts only with at least this long left of the window (or a tenth of
 * the window, when that is less): a new connection, its handshake and a ping take longer than
 * that to anything but loopback, so a probe started later could hardly succeed, and would only
 * make the count of probes depend on timers. The window is in effect up to this much shorter.
 */
const MIN_PROBE_MS = 50;

/** Reach the server once, within `timeoutMs`; rejects with why it could not. */
export type ServerProbe = (timeoutMs: number) => Promise<void>;

/** The lockout guard's settings for a reconciler. */
export interface ConfirmOptions {
  /** The window in milliseconds; 0 turns commit-confirmed off. */
  windowMs: number;
  probe: ServerProbe;
  /**
   * Ends the window at once, unconfirmed (`pull` stopped by SIGINT or SIGTERM): the previous
   * ruleset is restored and the error is NFTSYNC_ERR_INTERRUPTED. `signal.reason` names why.
   */
  signal?: AbortSignal;
}

/**
 * A probe over the wire protocol: a NEW connection, hello/welcome, one ping, close. The hello
 * says `check`, so a server at its connection cap still lets the probe in (into room it keeps
 * for checks); a server too old to know the field refuses that hello as invalid, and the probe
 * asks again without it. Errors (as rejections): NFTSYNC_ERR_CONN_FAILED, NFTSYNC_ERR_TIMEOUT,
 * or whatever the server answers.
 */
export function wireProbe(opts: { host: string; port: number; agent?: string; tls?: tls.ConnectionOptions; token?: string; localAddress?: string }): ServerProbe {
  let check = true;
  return async (timeoutMs) => {
    const ms = Math.max(1, Math.round(timeoutMs));
    const connect = () => WireClient.connect({ ...opts, check, connectTimeoutMs: ms, requestTimeoutMs: ms });
    const client = await connect().catch((err: unknown) => {
      if (!check || toNftSyncError(err).code !== 'NFTSYNC_ERR_MSG_INVALID') throw err;
      check = false;
      return connect();
    });
    try {
      await client.ping();
    } finally {
      client.close();
    }
  };
}

/**
 * The guard for an agent of `server`: a window of `windowMs` (default DEFAULT_CONFIRM_WINDOW_S
 * seconds; 0 turns it off) probed with wireProbe. Never throws.
 */
export function confirmOptions(windowMs: number | undefined, server: { host: string; port: number; agent?: string; tls?: tls.ConnectionOptions; token?: string }): ConfirmOptions {
  return { windowMs: windowMs ?? DEFAULT_CONFIRM_WINDOW_S * 1000, probe: wireProbe(server) };
}

/** The time confirmRevision reads and waits on: milliseconds, monotonic. */
export interface ConfirmClock {
  now(): number;
  /** Resolves after about `ms` (a timer may fire up to a millisecond early), or at the abort. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

const MONOTONIC: ConfirmClock = { now: () => performance.now(), sleep };

export type ConfirmResult = { confirmed: true; ms: number } | { confirmed: false; ms: number; reason: string };

/**
 * Probe until one probe succeeds or `windowMs` has passed. Never throws: a failure is the
 * answer `{confirmed: false, reason}` (the last probe's error). Probes start a whole pause after
 * the last one failed, and after the first only with MIN_PROBE_MS or more of the window left (a
 * tenth of it, when that is less): a pause that the window's end would cut short, or that
 * leaves less, ends the window instead (a timer may fire a millisecond early, and such a probe
 * could hardly succeed). An unconfirmed answer comes no earlier than the window's end.
 */
export async function confirmRevision(probe: ServerProbe, windowMs: number, signal?: AbortSignal, clock: ConfirmClock = MONOTONIC): Promise<ConfirmResult> {
  const started = clock.now();
  const deadline = started + windowMs;
  let reason = 'no probe could be made within the window';
  let attempts = 0;
  while (clock.now() < deadline && !signal?.aborted) {
    attempts++;
    let pause = PROBE_PAUSE_MS;
    try {
      await withTimeout(probe(deadline - clock.now()), deadline - clock.now(), signal);
      return { confirmed: true, ms: Math.round(clock.now() - started) };
    } catch (err) {
      const e = toNftSyncError(err);
      reason = e.message;
      if (e.code === 'NFTSYNC_ERR_SERVER_BUSY') pause = PROBE_PAUSE_MS + Math.random() * (BUSY_PAUSE_MS - PROBE_PAUSE_MS);
    }
    if (deadline - clock.now() < pause + Math.min(MIN_PROBE_MS, windowMs / 10)) {
      await sleepUntil(clock, deadline, signal);
      break;
    }
    await clock.sleep(pause, signal);
  }
  return { confirmed: false, ms: Math.round(clock.now() - started), reason: `${attempts} probe(s) failed; last: ${reason}` };
}

/** Sleep until the clock reaches `deadline` (a timer may fire early), or the abort. */
async function sleepUntil(clock: ConfirmClock, deadline: number, signal?: AbortSignal): Promise<void> {
  for (let left = deadline - clock.now(); left > 0 && !signal?.aborted; left = deadline - clock.now()) await clock.sleep(Math.ceil(left), signal);
}

function withTimeout<T>(p: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`probe did not finish within ${Math.round(ms)} ms`)), Math.max(1, ms));
    // A probe into a ruleset that drops packets may wait out the whole window: an abort must not.
    const onAbort = () => (clearTimeout(timer), reject(new Error(`interrupted (${String(signal?.reason)})`)));
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => (clearTimeout(timer), signal?.removeEventListener('abort', onAbort));
    p.then(
      (v) => (done(), resolve(v)),
      (e: unknown) => (done(), reject(e)),
    );
  });
}

/** The confirmed revision to go back to, when there is one. */
export interface ConfirmedRevision {
  bytes: Buffer;
  blob: string;
  ruleset: string;
  commit: string;
  managedTables: TableRef[];
}

/**
 * Put `previous` back in one atomic transaction over a revision that could not be confirmed
 * and manages `unconfirmedTables`: tables only the unconfirmed revision declared are deleted.
 * Without a previous revision the unconfirmed tables are deleted, leaving the host as it was
 * before the agent managed anything. Read-back is off: the bytes were verified when they were
 * first applied, and the point is to be fast. Errors: those of applyRuleset and verifyRevision.
 */
export async function restoreConfirmed(nft: NftRunner, previous: ConfirmedRevision | undefined, unconfirmedTables: readonly TableRef[]): Promise<void> {
  if (previous === undefined) {
    const empty: Ruleset = { nftables: [] };
    await applyRuleset({ nft, ruleset: empty, previouslyManaged: unconfirmedTables, verify: 'off' });
    return;
  }
  const { ruleset } = verifyRevision(previous.bytes, previous.blob, { ruleset: previous.ruleset, commit: previous.commit });
  const seen = new Set<string>();
  const union: TableRef[] = [];
  for (const t of [...previous.managedTables, ...unconfirmedTables]) {
    const k = `${t.family} ${t.name}`;
    if (!seen.has(k)) (seen.add(k), union.push(t));
  }
  await applyRuleset({ nft, ruleset, previouslyManaged: union, verify: 'off' });
}

/**
 * The confirm window after `commit` was applied over `previous`. Resolves undefined when the
 * server was reached through the new ruleset. Otherwise restores `previous` (restoreConfirmed)
 * and resolves with the NFTSYNC_ERR_CONFIRM_FAILED error to report and whether the restore
 * worked (when it did not, the caller keeps the pending mark so the next start tries again).
 * Never throws.
 */
export async function confirmOrRestore(
  guard: ConfirmOptions,
  args: { nft: NftRunner; logger: Logger; commit: string; blob: string; previous: ConfirmedRevision | undefined; newTables: readonly TableRef[] },
): Promise<{ error: NftSyncError; restored: boolean } | undefined> {
  const { nft, logger: log, commit, blob, previous, newTables } = args;
  log.info({ commit, windowMs: guard.windowMs }, 'confirming: reaching the server through the new ruleset; if that fails within the window, the previous ruleset is restored');
  const result = await confirmRevision(guard.probe, guard.windowMs, guard.signal);
  if (result.confirmed) {
    log.info({ commit, ms: result.ms }, 'revision confirmed: the server is reachable through it');
    return undefined;
  }
  const back = previous ? `revision ${previous.commit}` : 'the host as it was (no managed tables)';
  const data = { commit, blob, windowMs: guard.windowMs, restored: previous?.commit ?? null };
  const error = guard.signal?.aborted
    ? new NftSyncError('NFTSYNC_ERR_INTERRUPTED', `interrupted by ${String(guard.signal.reason)} before revision ${commit} was confirmed; restored ${back}`, { data })
    : new NftSyncError(
        'NFTSYNC_ERR_CONFIRM_FAILED',
        `revision ${commit} cut the agent off from the server (no new connection within ${guard.windowMs} ms: ${result.reason}); restored ${back}`,
        { data },
      );
  log.error({ commit, reason: error.code === 'NFTSYNC_ERR_INTERRUPTED' ? error.message : result.reason }, 'revision not confirmed; restoring the previous ruleset');
  try {
    await restoreConfirmed(nft, previous, newTables);
    log.warn({ commit, restored: previous?.commit ?? null }, 'previous ruleset restored');
    return { error, restored: true };
  } catch (e) {
    const restoreError = toNftSyncError(e);
    log.error({ err: restoreError.toJSON() }, 'could not restore the previous ruleset; the next start tries again');
    error.message += `; the restore FAILED: ${restoreError.message}`;
    return { error, restored: false };
  }
}

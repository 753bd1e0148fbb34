/**
 * The agent's defaults, in one place: reconnect backoff, the confirm window, drift detection's
 * intervals and caps, the wire client's limits and time limits. Checked once when this module
 * loads (a bad value stops the agent at start with NFTSYNC_ERR_CONFIG_INVALID), then
 * deep-frozen. Flags override some of them (the `flag` column of docs/defaults.md).
 * docs/defaults.md lists every value; tests/unit/agent/defaults.test.ts keeps the two in step.
 * Defaults shared with the server (frame sizes, nft time limits) are in shared/defaults.ts.
 */
import { checkDefaults, type DefaultsRule } from '../shared/check-defaults.js';
import { SHARED_DEFAULTS } from '../shared/defaults.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SECOND = 1000;

/** The table as written, before the check; exported only for the tests of the check. */
export const AGENT_DEFAULTS_TABLE = {
  wire: {
    /** A connection (TCP, TLS and the server's welcome) must be made within this. */
    connectTimeoutMs: 5 * SECOND,
    /** An answer to a fetch must arrive within this (a big ruleset over a slow link). */
    requestTimeoutMs: 120 * SECOND,
    /** Frame limit while no fetch is outstanding: welcome, pong, ack, moved, error are small. */
    idleMaxFrame: 64 * KiB,
    /**
     * Largest ruleset accepted, in bytes. A 1,000,000-address set in the repository format is
     * 25 MB; 64 MiB leaves room for the rules around it. `--max-ruleset-bytes`.
     */
    maxRulesetBytes: 64 * MiB,
    /** Room for a release proof's git objects (about 35 KB per 1,000 rulesets). */
    proofAllowanceBytes: 1 * MiB,
  },
  backoff: {
    /** First reconnect delay's upper bound. */
    baseMs: 250,
    /** Largest reconnect delay. */
    capMs: 30 * SECOND,
    /** The first reconnect after a working connection dropped waits a random time up to this. */
    dropSpreadMs: 5 * SECOND,
    /**
     * With several servers (`--server A,B`), the move to the next one after a working connection
     * dropped waits a random time up to this instead: the dead server's agents reach the next
     * within about two seconds, still spread out.
     */
    failoverSpreadMs: 2 * SECOND,
  },
  confirm: {
    /** Seconds to reach the server through a new revision before it is rolled back (0: off). `--confirm-window`. */
    windowS: 30,
    /** Pause between failed probes, so a refused connection does not spin. */
    probePauseMs: 250,
    /** After this many restarts in the middle of one revision's confirm window, it counts as failed. */
    maxInterruptions: 3,
  },
  drift: {
    /** Seconds between periodic drift checks backing up the event listener (0: off). `--drift-interval`. */
    intervalS: 60,
    /** With nft monitor (no PIDs), events this soon after the agent's own change are taken as its own. */
    ownGraceMs: 300,
    /** Events are gathered this long before one comparison runs. */
    debounceMs: 30,
    /** Outside events kept between two comparisons (a flood by hand must not grow memory). */
    maxPendingEvents: 1000,
    /** Own loads of at least this many bytes run with the listener out of the event group (about 20,000 elements). */
    pauseMinBytes: 256 * KiB,
    /** A PID the agent started is its own for this long (longer than any nft run may take). */
    ownPidMs: 15 * 60 * SECOND,
    /** PIDs of its own remembered at most. */
    maxOwnPids: 1024,
    /** A generation id that differs from the last one seen is asked again after this long. */
    genRecheckMs: 1 * SECOND,
    /** A check that found the agent busy is tried again after this long. */
    busyRetryMs: 100,
    /** Above this many set elements a ruleset is "big": no listing, no read-back, element deltas. */
    bigRulesetElements: 20_000,
    /** Outstanding element changes kept at most (without self-heal); beyond, the drift just stands. */
    maxTrackedElements: 50_000,
    /** How long the events of the agent's own delta heal may take to come back. */
    echoMs: 5 * SECOND,
    /** Pause before restarting an `nft monitor` that died. */
    monitorRestartMs: 1 * SECOND,
    /** An answer from the netlink listener that does not come within this means it is stuck. */
    listenerAnswerMs: 5 * SECOND,
    /** Pause before restarting a listener that died; doubled per failure in a row up to `listenerRestartMaxMs`. */
    listenerRestartMs: 500,
    /** Longest pause before restarting the listener. */
    listenerRestartMaxMs: 30 * SECOND,
    /** After this many exits in a row before it was ready, the listener counts as unavailable. */
    listenerMaxEarlyExits: 3,
  },
  /** `ssh-keygen -Y verify` of a signed release must finish within this. */
  signatureVerifyMs: 10 * SECOND,
  publish: {
    /** agent --publish: quiet time after the last live change before it is published. `--publish-quiet`. */
    quietMs: 500,
    /** Longest quiet period `--publish-quiet` accepts. */
    maxQuietMs: SECOND,
    /** A publish that failed for a reason that may pass is tried again after this, doubled up to `retryCapMs`. */
    retryMs: SECOND,
    /** Longest pause before a publish is tried again. */
    retryCapMs: 30 * SECOND,
  },
};

/** Relations between the values that must hold, besides each value's own check. */
export const AGENT_DEFAULTS_RULES: readonly DefaultsRule<typeof AGENT_DEFAULTS_TABLE>[] = [
  ['backoff.baseMs <= backoff.capMs', (t) => t.backoff.baseMs <= t.backoff.capMs],
  ['backoff.baseMs > 0 (no reconnect in a tight loop)', (t) => t.backoff.baseMs > 0],
  ['backoff.failoverSpreadMs <= backoff.dropSpreadMs', (t) => t.backoff.failoverSpreadMs <= t.backoff.dropSpreadMs],
  ['drift.listenerRestartMs <= drift.listenerRestartMaxMs', (t) => t.drift.listenerRestartMs <= t.drift.listenerRestartMaxMs],
  ['drift.ownPidMs > the longest nft run (shared nft.timeoutsMs)', (t) => Object.values(SHARED_DEFAULTS.nft.timeoutsMs).every((ms) => t.drift.ownPidMs > ms)],
  ['publish.quietMs <= publish.maxQuietMs', (t) => t.publish.quietMs <= t.publish.maxQuietMs],
  ['publish.retryMs <= publish.retryCapMs', (t) => t.publish.retryMs <= t.publish.retryCapMs],
  ['wire.idleMaxFrame <= wire.maxRulesetBytes', (t) => t.wire.idleMaxFrame <= t.wire.maxRulesetBytes],
  ['wire.maxRulesetBytes <= shared wire.maxAnswerFrame', (t) => t.wire.maxRulesetBytes <= SHARED_DEFAULTS.wire.maxAnswerFrame],
];

/** The agent defaults, checked and deep-frozen. */
export const AGENT_DEFAULTS = checkDefaults('agent', AGENT_DEFAULTS_TABLE, AGENT_DEFAULTS_RULES);

/**
 * The server's defaults, in one place: the wire listener's limits and time limits, the HTTP
 * listener's, the push checks', the caches'. Checked once when this module loads (a bad value
 * stops the server at start with NFTSYNC_ERR_CONFIG_INVALID), then deep-frozen. Flags override
 * some of them (the `flag` column of docs/defaults.md); the rest are fixed by design and say why.
 * docs/defaults.md lists every value; tests/unit/server/defaults.test.ts keeps the two in step.
 * Defaults shared with the agent (frame sizes, nft time limits) are in shared/defaults.ts, those
 * of the host-side IO (git processes, scratch namespaces) in host/defaults.ts.
 */
import { checkDefaults, type DefaultsRule } from '../shared/check-defaults.js';
import { MAX_STORED_CHANGE_FILES } from '../shared/ruleset/element-log.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SECOND = 1000;
const DAY = 24 * 3600 * SECOND;

/** The table as written, before the check; exported only for the tests of the check. */
export const SERVER_DEFAULTS_TABLE = {
  wire: {
    /** A connection must say hello (and finish TLS) within this. */
    handshakeTimeoutMs: 5 * SECOND,
    /** A frame that started must arrive whole within this (slow-loris). */
    frameTimeoutMs: 30 * SECOND,
    /** The server pings an idle connection this often. */
    heartbeatMs: 15 * SECOND,
    /** Answers queued per connection while the client does not read. */
    maxQueued: 16,
    /** Subscriptions per connection. */
    maxSubscriptions: 64,
    /**
     * An agent holds one connection, plus one short-lived probe in its confirm window; 64 leaves
     * room for a few dozen agents behind one NAT address while one stranger cannot take the
     * server's whole connection budget. `--max-connections-per-address`.
     */
    maxConnectionsPerAddress: 64,
    /**
     * Each connection holds one file descriptor; 10,000 leaves room for git processes, HTTP and
     * the repository's files within a 20,000 `ulimit -n`. `--max-connections`.
     */
    maxConnections: 10_000,
    /**
     * Room kept over maxConnections for agents' lockout-guard checks (a hello with `check`, closed
     * after one ping), so a full server never makes its agents roll back. `--check-connections`.
     */
    checkConnections: 1000,
    /** Bytes a connection may leave unread beyond the answer being written before it is dropped. */
    maxUnreadBytes: 4 * MiB,
    /** A connection that takes none of what it is sent for this long is dropped (0: never). */
    writeStallMs: 30 * SECOND,
    /** Connections being turned away that still get their error frame; past this, just closed. */
    maxRefusing: 256,
    /** At most one log line of dropped connections per this interval. */
    dropLogIntervalMs: 10 * SECOND,
    /** Distinct addresses counted per drop-log interval; past that they are counted as "others". */
    dropLogMaxAddresses: 1024,
    /** A closed connection's socket is destroyed after this if the peer does not close its side. */
    closeLingerMs: 1 * SECOND,
  },
  readBudget: {
    /** Bytes read per second per remote address. */
    bytesPerSecond: 1 * MiB,
    /** Bytes one address may send in a burst. */
    burstBytes: 4 * MiB,
  },
  registry: {
    /** Agents whose latest report is kept. `--max-agents`. */
    maxAgents: 10_000,
    /** An agent neither connected nor heard from for this long is forgotten. */
    evictAfterMs: 7 * DAY,
  },
  rollouts: {
    /** Running rollouts look at the agents' reports this often (besides a timer at each hold's end). */
    tickMs: 500,
    /** After a report, the look at the reports waits this long, so a burst of reports costs one. */
    pokeMs: 50,
  },
  httpTimeouts: {
    /** Request line and headers must arrive within this. `--http-headers-timeout`. */
    headersMs: 10 * SECOND,
    /** An API request's headers and body must arrive within this. `--http-request-timeout`. */
    requestMs: 30 * SECOND,
    /** A git request body that sends nothing for this long is dropped. `--http-body-idle-timeout`. */
    bodyIdleMs: 30 * SECOND,
    /** A kept-alive connection with no request in flight is closed after this. `--http-keep-alive-timeout`. */
    keepAliveMs: 5 * SECOND,
    /** A connection with no bytes moving either way for this long is closed. `--http-idle-timeout`. */
    idleMs: 120 * SECOND,
  },
  http: {
    /** `git http-backend` processes serving reads at once. */
    gitReadBackends: 32,
    /** `git http-backend` processes serving pushes at once. */
    gitWriteBackends: 8,
    /** Largest CGI head (status and headers) read from `git http-backend`. */
    cgiHeadMaxBytes: 64 * KiB,
    /** Deepest nesting of an API request's JSON body (an element nests at most 5 levels); deeper is refused before it is parsed. */
    maxBodyDepth: 32,
    /** Longest path parameter fastify routes (an nft name may have 255 characters); longer gets NFTSYNC_ERR_API_INVALID_REQUEST. */
    maxParamLength: 512,
    /** On shutdown, requests and push checks in flight get this long to finish. */
    shutdownGraceMs: 10 * SECOND,
  },
  pushChecks: {
    /** Largest request the pre-receive hook sends (the ref lines of a push of thousands of refs). */
    requestMaxBytes: 1 * MiB,
    /** A hook's request must arrive within this. */
    requestTimeoutMs: 5 * SECOND,
    /** While a check runs the server says `wait` this often. */
    heartbeatMs: 2 * SECOND,
    /** The hook gives up after this without a word from the server. */
    silenceMs: 30 * SECOND,
    /** Time limit of each nft run in the scratch namespace: this, plus `nftPerThousandElementsMs` per 1,000 set elements. */
    nftBaseMs: 60 * SECOND,
    /** A 1,000,000-element load took 3 s quiet and 28 s on a loaded 2-core machine: a minute per million. */
    nftPerThousandElementsMs: 60,
    /** Dry runs one search for the object nft refuses may make. */
    maxDryRuns: 40,
    /** Above this many elements, the set at fault is named without searching for the element. */
    elementSearchMax: 100_000,
  },
  import: {
    /** Time limit of each nft run of `nft-sync import`: this, plus `nftPerMegabyteMs` per MB of text. */
    nftBaseMs: 60 * SECOND,
    /** Big sets list slowly. */
    nftPerMegabyteMs: 30 * SECOND,
    /** A text listing torn by a set being rearranged is taken again after this, times the attempt. */
    retryPauseMs: 500,
  },
  repository: {
    /** Bytes of ruleset contents kept in memory. */
    maxCachedBytes: 64 * MiB,
    /** Commits whose ruleset listing is kept. */
    maxCachedCommits: 1024,
    /** Parsed `nft-sync.yaml` files kept. */
    maxCachedConfigs: 256,
    /** Peeled tags kept. */
    maxCachedPeeled: 65_536,
    /** Bytes of parsed rulesets kept for diffs. */
    maxParsedDiffBytes: 16 * MiB,
    /** Tags of tags followed at most when resolving a ref. */
    maxTagDepth: 10,
    /** Tags in a release proof's chain at most; git itself stops peeling at about this depth. */
    maxTagChain: 8,
    /** Safety-net poll of the refs, besides the file watch (0: off). */
    refPollMs: 1 * SECOND,
    /** A ruleset whose base is at least this big is composed with its change files in a worker thread, off the event loop. */
    composeOffThreadBytes: 1 * MiB,
    /**
     * Big rulesets (composeOffThreadBytes) being composed at once, their files in memory; the
     * rest wait holding nothing (server/git/compose-slots.ts). The worker composes one at a time:
     * a second lets the next one's files be read meanwhile.
     */
    composeSlots: 2,
  },
  elementLog: {
    /**
     * Element change files (`rulesets/NAME.elements/`) at most: the change that would make one
     * more folds them all into `rulesets/NAME.json`. Composing is one pass over each set however
     * many there are; this bounds the files read and parsed per revision and the tree's size.
     */
    foldMaxFiles: 64,
    /**
     * The change files' bytes at most, as a fraction of the base's: 1/this. A change that would
     * make them larger folds (a small ruleset is then rewritten whole, as before change files).
     */
    foldBaseDivisor: 8,
    /**
     * Tips the element API keeps (server/git/element-tips.ts: one per branch and ruleset changed,
     * the least recently used dropped first). A tip of a 1,000,000-element set (25 MB of text) takes about 40 MB.
     */
    maxTips: 4,
    /**
     * Ms after an element change before memory for the next text is prepared, its pages touched
     * (server/git/element-tips.ts: 15-25 ms of a core for a 25 MB text), so that work comes after
     * the agents told of the change have applied it, not while they plan and run nft (on a host
     * whose cores the server shares, it took one of them: agents' plans twice as long).
     */
    spareDelayMs: 300,
  },
  replica: {
    /** A replica (--mirror-of) asks the primary for its refs this often, and fetches when they changed. */
    pollMs: 250,
    /** Longest wait for the primary's ref list (info/refs) at start, and for each poll. */
    openTimeoutMs: 5 * SECOND,
    /** A replica forwards its agents' reports to the primary at most this often. */
    forwardMs: 200,
    /** A replica asks the primary for its rollouts this often (and whenever its mirror moves). */
    rolloutPollMs: 1 * SECOND,
    /** A replica starts a long poll, or a poll agents asked for, at most this often, however fast the primary answers. */
    minPollGapMs: 250,
    /** A replica answers for the whole fleet from the primary's list, asked for at most this often. */
    fleetCacheMs: SECOND,
    /** A replica stops a git clone or fetch of the primary that runs longer than this. */
    fetchTimeoutMs: 5 * 60 * SECOND,
  },
  pki: {
    /** Days a CA made by `nft-sync pki init` is valid. */
    caValidityDays: 3650,
    /** Days a certificate made by `nft-sync pki issue` is valid (the CA/Browser Forum's 397). */
    leafValidityDays: 397,
  },
};

/** Relations between the values that must hold, besides each value's own check. */
export const SERVER_DEFAULTS_RULES: readonly DefaultsRule<typeof SERVER_DEFAULTS_TABLE>[] = [
  ['wire.heartbeatMs < wire.frameTimeoutMs', (t) => t.wire.heartbeatMs < t.wire.frameTimeoutMs],
  ['wire.maxConnectionsPerAddress <= wire.maxConnections', (t) => t.wire.maxConnectionsPerAddress <= t.wire.maxConnections],
  ['readBudget.bytesPerSecond <= readBudget.burstBytes', (t) => t.readBudget.bytesPerSecond <= t.readBudget.burstBytes],
  ['pushChecks.heartbeatMs < pushChecks.silenceMs', (t) => t.pushChecks.heartbeatMs < t.pushChecks.silenceMs],
  ['wire.handshakeTimeoutMs > 0 and httpTimeouts.headersMs > 0', (t) => t.wire.handshakeTimeoutMs > 0 && t.httpTimeouts.headersMs > 0],
  // The element API folds before it writes a commit the push validator refuses.
  ['elementLog.foldMaxFiles < MAX_STORED_CHANGE_FILES', (t) => t.elementLog.foldMaxFiles < MAX_STORED_CHANGE_FILES],
];

/** The server defaults, checked and deep-frozen. */
export const SERVER_DEFAULTS = checkDefaults('server', SERVER_DEFAULTS_TABLE, SERVER_DEFAULTS_RULES);

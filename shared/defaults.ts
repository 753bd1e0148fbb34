/**
 * Defaults both sides share: the wire protocol's frame and header limits, what a ruleset's text
 * and `nft-sync.yaml` may hold, and how long one nft run may take (the agent's applies and the
 * server's scratch checks run the same nft). Checked once when this module loads, then frozen.
 * docs/defaults.md lists every value; tests/unit/shared/defaults.test.ts keeps the two in step.
 *
 * The server's own defaults are in server/defaults.ts, the agent's in agent/defaults.ts, the
 * command line's in cli/defaults.ts. Pure.
 */
import { checkDefaults, type DefaultsRule } from './check-defaults.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The table as written, before the check; exported only for the tests of the check. */
export const SHARED_DEFAULTS_TABLE = {
  wire: {
    /** Limit on any frame before the handshake is done (what an agent accepts before welcome). */
    preHandshakeMaxFrame: 64 * KiB,
    /**
     * Limit on the first frame a server accepts from a client: a hello is under 1 KiB even with
     * the longest name and token; a stranger who has not said hello holds no more than this.
     */
    helloMaxFrame: 4 * KiB,
    /** Limit on every frame a server accepts from a client after hello (`welcome.maxFrame`). */
    clientMaxFrame: 64 * KiB,
    /**
     * Limit on frames from a client whose hello carried a write credential (a write token, or a
     * certificate under mutual TLS): a `publish` carries a whole (small) ruleset.
     */
    writerMaxFrame: 8 * MiB,
    /** Largest `status` of a report, as JSON (two conditions with 4,096-character messages fit). */
    maxReportBytes: 16 * KiB,
    /**
     * Limit on frames a server sends, i.e. ruleset answers (a 1,000,000-element set is about
     * 40 MB); the agent's default limit on what it reads after welcome. `--max-frame`.
     */
    maxAnswerFrame: 256 * MiB,
    /** Largest message header (an error is 8 KiB of text, a ruleset header with proof about 2 KiB). */
    maxHeaderBytes: 64 * KiB,
    /** Deepest nesting of a message header (no message nests more than 4 levels). */
    maxHeaderDepth: 16,
  },
  rulesetText: {
    /** Nesting: nft 1.0.6's deepest listings reach about 15 levels. */
    maxDepth: 128,
    /** Arrays and objects: a 1,000,000-element verdict map of prefixes has 5,000,000. */
    maxContainers: 6_000_000,
    /** Different sets of object keys: nft's JSON vocabulary makes a few hundred. */
    maxShapes: 4096,
  },
  names: {
    /** Most characters a ref (branch, tag, commit id) may have on the wire and in the API. */
    refMaxLength: 255,
    /** Longest agent-name glob in `nft-sync.yaml`. */
    agentGlobMaxLength: 256,
    /** Longest `--adopt-tables` pattern. */
    tablePatternMaxLength: 256,
  },
  elements: {
    /** Most set or map elements one API request (`nft-sync set`) may add and delete, together. */
    maxPerChange: 1_000_000,
    /** Longest element of such a request, in characters of its JSON (the longest nft takes, with a 128-byte comment, has well under 1,000). */
    maxElementChars: 4096,
  },
  repoConfig: {
    /** Largest `nft-sync.yaml`, in bytes; it maps names, it never needs to be big. */
    maxBytes: 1 * MiB,
    /** Most `agents` entries. */
    maxEntries: 10_000,
  },
  nft: {
    /** Time limits of one nft run by kind, in ms: deleting from a big interval set can take minutes. */
    timeoutsMs: { apply: 600_000, check: 600_000, list: 120_000, other: 60_000 },
    /** Elements per command when a big set is loaded or read back through small copies. */
    chunkElements: 4096,
    /** Above this, a monitor line (an element event of a big set) is parsed from its head only. */
    monitorLongLineBytes: 64 * KiB,
  },
  /** Differences listed at most when a read-back or a diff does not match; the rest are counted. */
  diffLimit: 200,
};

/** Relations between the values that must hold, besides each value's own check. */
export const SHARED_DEFAULTS_RULES: readonly DefaultsRule<typeof SHARED_DEFAULTS_TABLE>[] = [
  ['wire.helloMaxFrame <= wire.clientMaxFrame', (t) => t.wire.helloMaxFrame <= t.wire.clientMaxFrame],
  ['wire.maxReportBytes < wire.clientMaxFrame', (t) => t.wire.maxReportBytes < t.wire.clientMaxFrame],
  ['wire.maxHeaderBytes <= wire.preHandshakeMaxFrame', (t) => t.wire.maxHeaderBytes <= t.wire.preHandshakeMaxFrame],
  ['wire.clientMaxFrame <= wire.maxAnswerFrame', (t) => t.wire.clientMaxFrame <= t.wire.maxAnswerFrame],
  ['wire.clientMaxFrame <= wire.writerMaxFrame', (t) => t.wire.clientMaxFrame <= t.wire.writerMaxFrame],
  ['nft.timeoutsMs.list <= nft.timeoutsMs.apply', (t) => t.nft.timeoutsMs.list <= t.nft.timeoutsMs.apply],
];

/** The shared defaults, checked and deep-frozen. */
export const SHARED_DEFAULTS = checkDefaults('shared', SHARED_DEFAULTS_TABLE, SHARED_DEFAULTS_RULES);

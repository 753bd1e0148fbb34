/**
 * What an agent accepts from a server, decided before anything is verified further or applied.
 * Pure: the request the agent sent and the answer it got in, a verdict (or an error) out.
 *
 * - checkAnswerMatchesRequest: the answer is for the ref, the ruleset and (for `unchanged`) the
 *   blob the agent asked about. A man in the middle that rewrites the request (say `ruleset`)
 *   and not the answer is caught here; one that rewrites both is caught by the release proof,
 *   whose claim is built from what the agent asked, never from what the server says.
 * - checkNotDowngrade: under `--track-tags`, an agent never moves to a lower version than the
 *   tag in force, whatever the server offers (a deleted higher tag, a withheld one).
 * - checkServerNotBehind: following a branch (or a commit), an agent moves from the commit in
 *   force only on a server that says it has that commit: one that lacks it (a replica whose
 *   mirror lags) could only move it back.
 */
import { NftSyncError } from '../errors.js';
import { compareSemver, highestTag, parseSemver } from './semver.js';

/** What the agent asked for in a `fetch`. */
export interface AskedRevision {
  ref: string;
  track?: boolean;
  /** The ruleset named in the request; undefined when the server chooses (nft-sync.yaml). */
  ruleset?: string;
  /** What the agent said it has, if anything. */
  have?: { commit: string; blob: string };
  /** The agent asked the server to say whether it is behind `have` (fetch `checkBehind`). */
  checkBehind?: boolean;
}

/** The fields of a `ruleset` or `unchanged` answer that must agree with the request. */
export interface AnsweredRevision {
  kind: 'ruleset' | 'unchanged';
  ref: string;
  tag?: string;
  ruleset: string;
  blob: string;
}

function mismatch(msg: string, data: Record<string, unknown>): NftSyncError {
  return new NftSyncError('NFTSYNC_ERR_VERIFY_CHAIN', `${msg}: the request or the answer was altered on the way (or the server is faulty); nothing is applied`, { data });
}

/**
 * Throws unless `answer` answers `asked`: the same ref; the ruleset asked for (when one was);
 * with `track`, a tag that is a version matching the pattern; an `unchanged` only for the blob
 * the agent said it has. Errors: NFTSYNC_ERR_VERIFY_CHAIN (naming both values).
 */
export function checkAnswerMatchesRequest(asked: AskedRevision, answer: AnsweredRevision): void {
  if (answer.ref !== asked.ref) {
    throw mismatch(`the server answered for ref ${JSON.stringify(answer.ref)}, but the agent asked for ${JSON.stringify(asked.ref)}`, { asked: asked.ref, answered: answer.ref });
  }
  if (asked.ruleset !== undefined && answer.ruleset !== asked.ruleset) {
    throw mismatch(`the server answered with ruleset ${answer.ruleset}, but the agent asked for ${asked.ruleset}`, { asked: asked.ruleset, answered: answer.ruleset });
  }
  if (asked.track && (answer.tag === undefined || highestTag([answer.tag], asked.ref) !== answer.tag)) {
    throw mismatch(`the server chose tag ${JSON.stringify(answer.tag)}, which is not a release matching ${JSON.stringify(asked.ref)}`, { pattern: asked.ref, tag: answer.tag });
  }
  if (answer.kind === 'unchanged') {
    const have = asked.have;
    if (!have) throw mismatch('the server answered "unchanged", but the agent said it has nothing', { answered: answer.blob });
    // The ruleset's name may differ when the agent named none (nft-sync.yaml now maps it to
    // another ruleset with the same bytes); the bytes in force are what matters.
    if (answer.blob !== have.blob) {
      throw mismatch(`the server answered "unchanged" with blob ${answer.blob}, but the agent has blob ${have.blob}`, { answered: answer.blob, have: have.blob });
    }
  }
}

/**
 * Under `--track-tags PATTERN`: throws when `offered` is a lower version than `inForce`, the
 * tag of the release in force (undefined: nothing in force yet, or recorded before the agent
 * kept it). An equal version passes (the same release, or the same version with other build
 * metadata); so does anything with `allowDowngrade`. A tag in force that is not a version of the
 * pattern (the pattern changed since) holds nothing back.
 * Errors: NFTSYNC_ERR_RELEASE_DOWNGRADE, with data {pattern, inForce, offered}.
 */
export function checkNotDowngrade(args: { pattern: string; inForce: string | undefined; offered: string; allowDowngrade?: boolean }): void {
  const { pattern, inForce, offered, allowDowngrade } = args;
  if (allowDowngrade || inForce === undefined || inForce === offered) return;
  if (highestTag([inForce], pattern) !== inForce) return;
  const held = parseSemver(inForce);
  const next = parseSemver(offered);
  if (!held || !next || compareSemver(next, held) >= 0) return;
  throw new NftSyncError(
    'NFTSYNC_ERR_RELEASE_DOWNGRADE',
    `the server offers ${offered} for --track-tags ${JSON.stringify(pattern)}, a lower version than ${inForce}, the release in force: held at ${inForce}. ` +
      `To go back, publish a higher version (nft-sync rollback), or run with --allow-downgrade`,
    { data: { pattern, inForce, offered } },
  );
}

/** The fields of an answer that say whether the server is behind the agent. */
export interface BehindAnswer {
  kind: 'ruleset' | 'unchanged';
  commit: string;
  /** The server's word (fetch `checkBehind`): true when it does not have the commit of `have`. */
  behind?: boolean;
}

/**
 * When the agent asked (`checkBehind`, with `have`, not tracking tags): throws when the server
 * says it is behind the agent (whatever it answered), or when it offers another commit than the
 * one in force without saying it is not behind (a server that does not keep the guard, or a
 * faulty one). The agent then keeps its revision and is held until the server has caught up.
 * The guard trusts the server's word: it stops an honest server that lags (a replica whose mirror
 * has not fetched yet), not a lying one (docs/security.md). Errors: NFTSYNC_ERR_SERVER_BEHIND,
 * with data {inForce, offered, said}.
 */
export function checkServerNotBehind(asked: AskedRevision, answer: BehindAnswer): void {
  const have = asked.have;
  if (!asked.checkBehind || asked.track || !have || answer.behind === false) return;
  if (answer.behind !== true && (answer.kind === 'unchanged' || answer.commit === have.commit)) return;
  const said = answer.behind === true ? 'says it does not have it' : 'does not say it has it';
  throw new NftSyncError(
    'NFTSYNC_ERR_SERVER_BEHIND',
    `the server ${said}: commit ${have.commit}, the revision in force${answer.commit !== have.commit ? ` (it offers ${answer.commit})` : ''}; held at ${have.commit} until the server has caught up (a replica whose mirror lags the primary?)`,
    { data: { inForce: have.commit, offered: answer.commit, said: answer.behind ?? null } },
  );
}
